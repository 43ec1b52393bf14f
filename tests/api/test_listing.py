"""ListObjects (V1) and ListObjectsV2: prefixes, delimiters, paging, start points, URL encoding.

boto3 asks for encoding-type=url on every listing and decodes the answer itself; the raw
tests read the XML exactly as the server wrote it.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, unquote_plus

import pytest
from botocore.exceptions import ClientError

from tests.conftest import client_for
from tests.support import rawhttp

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
MANY = 2500
MANY_KEYS = [f"obj/{i:05d}" for i in range(MANY)]
TREE = ["a", "b/1", "b/2", "b/c/3", "c/4", "d", "e/5/6", "f"]


@pytest.fixture(scope="module")
def many(server, s3):  # type: ignore[no-untyped-def]
    """A bucket holding MANY small objects, filled once for the module (8 writers, bounded in time)."""
    name = f"listing-many-{int(time.time() * 1000) % 10**8}"
    s3.create_bucket(Bucket=name)
    writer = client_for(server.endpoint, server.access_key, server.secret_key, max_pool_connections=8)
    deadline = time.monotonic() + 120

    def put(key: str) -> None:
        if time.monotonic() > deadline:  # a bound on the load loop, not a performance check
            raise RuntimeError("gave up filling the listing bucket")
        writer.put_object(Bucket=name, Key=key, Body=b"")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, MANY_KEYS))
    yield name
    for start in range(0, MANY, 1000):
        s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": k} for k in MANY_KEYS[start : start + 1000]]})
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def tree(s3, bucket):  # type: ignore[no-untyped-def]
    for k in TREE:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    return bucket


def keys(r) -> list[str]:  # type: ignore[no-untyped-def]
    return [o["Key"] for o in r.get("Contents", [])]


def prefixes(r) -> list[str]:  # type: ignore[no-untyped-def]
    return [p["Prefix"] for p in r.get("CommonPrefixes", [])]


def raw_list(server, bucket, **query):  # type: ignore[no-untyped-def]
    q = {k.replace("_", "-"): v for k, v in query.items()}
    r = rawhttp.call(server, "GET", f"/{bucket}", query=q)
    assert r.status == 200, r.body
    return r.xml()


# ---------- V2 ----------
def test_v2_lists_all_keys_in_order_with_sizes(s3, tree):  # type: ignore[no-untyped-def]
    r = s3.list_objects_v2(Bucket=tree)
    assert keys(r) == TREE
    assert [o["Size"] for o in r["Contents"]] == [len(k) for k in TREE]
    assert r["KeyCount"] == len(TREE)
    assert r["IsTruncated"] is False
    assert r["Contents"][0]["StorageClass"] == "STANDARD"


def test_v2_prefix(s3, tree):  # type: ignore[no-untyped-def]
    assert keys(s3.list_objects_v2(Bucket=tree, Prefix="b/")) == ["b/1", "b/2", "b/c/3"]


def test_v2_delimiter_rolls_up_common_prefixes(s3, tree):  # type: ignore[no-untyped-def]
    r = s3.list_objects_v2(Bucket=tree, Delimiter="/")
    assert keys(r) == ["a", "d", "f"]
    assert prefixes(r) == ["b/", "c/", "e/"]
    assert r["KeyCount"] == 6


def test_v2_prefix_and_delimiter(s3, tree):  # type: ignore[no-untyped-def]
    r = s3.list_objects_v2(Bucket=tree, Prefix="b/", Delimiter="/")
    assert keys(r) == ["b/1", "b/2"]
    assert prefixes(r) == ["b/c/"]


def test_v2_multi_character_delimiter(s3, bucket):  # type: ignore[no-untyped-def]
    for k in ["x--1", "x--2", "y", "z--a--b"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    r = s3.list_objects_v2(Bucket=bucket, Delimiter="--")
    assert keys(r) == ["y"]
    assert prefixes(r) == ["x--", "z--"]


def test_v2_start_after(s3, tree):  # type: ignore[no-untyped-def]
    r = s3.list_objects_v2(Bucket=tree, StartAfter="b/2")
    assert keys(r) == ["b/c/3", "c/4", "d", "e/5/6", "f"]
    assert r["StartAfter"] == "b/2"


def test_v2_start_after_inside_a_common_prefix_skips_it(s3, tree):  # type: ignore[no-untyped-def]
    # a common prefix sorts before every key under it: one that holds the start point was already
    # returned (this is what makes NextMarker / a continuation token pointing at a prefix work)
    r = s3.list_objects_v2(Bucket=tree, StartAfter="b/1", Delimiter="/")
    assert prefixes(r) == ["c/", "e/"]
    assert keys(r) == ["d", "f"]


def test_v2_start_after_just_before_a_common_prefix_includes_it(s3, tree):  # type: ignore[no-untyped-def]
    r = s3.list_objects_v2(Bucket=tree, StartAfter="b", Delimiter="/")
    assert prefixes(r) == ["b/", "c/", "e/"]
    assert keys(r) == ["d", "f"]


def test_v2_owner_only_with_fetch_owner(s3, tree):  # type: ignore[no-untyped-def]
    assert "Owner" not in s3.list_objects_v2(Bucket=tree)["Contents"][0]
    owned = s3.list_objects_v2(Bucket=tree, FetchOwner=True)["Contents"][0]
    assert owned["Owner"]["ID"]


def test_v2_max_keys_truncates_with_continuation_token(s3, tree):  # type: ignore[no-untyped-def]
    r = s3.list_objects_v2(Bucket=tree, MaxKeys=3)
    assert keys(r) == TREE[:3]
    assert r["IsTruncated"] is True
    assert r["KeyCount"] == 3
    assert r["MaxKeys"] == 3
    r2 = s3.list_objects_v2(Bucket=tree, MaxKeys=3, ContinuationToken=r["NextContinuationToken"])
    assert keys(r2) == TREE[3:6]
    assert r2["ContinuationToken"] == r["NextContinuationToken"]


def test_v2_paging_with_delimiter_returns_each_entry_once(s3, tree):  # type: ignore[no-untyped-def]
    seen: list[str] = []
    token = None
    for _ in range(10):
        kw = {"Bucket": tree, "Delimiter": "/", "MaxKeys": 2}
        if token:
            kw["ContinuationToken"] = token
        r = s3.list_objects_v2(**kw)
        assert r["KeyCount"] <= 2
        seen += keys(r) + prefixes(r)
        token = r.get("NextContinuationToken")
        if not r["IsTruncated"]:
            break
    assert sorted(seen) == ["a", "b/", "c/", "d", "e/", "f"]
    assert len(seen) == 6


def test_v2_continuation_token_paging_over_many_keys(s3, many):  # type: ignore[no-untyped-def]
    seen: list[str] = []
    token = None
    pages = 0
    for _ in range(10):
        kw = {"Bucket": many, "MaxKeys": 1000}
        if token:
            kw["ContinuationToken"] = token
        r = s3.list_objects_v2(**kw)
        pages += 1
        seen += keys(r)
        assert r["KeyCount"] == len(keys(r))
        token = r.get("NextContinuationToken")
        if not r["IsTruncated"]:
            assert token is None
            break
    assert pages == 3
    assert seen == MANY_KEYS


def test_v2_paginator_over_many_keys(s3, many):  # type: ignore[no-untyped-def]
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=many, PaginationConfig={"PageSize": 700}))
    assert [len(p["Contents"]) for p in pages] == [700, 700, 700, 400]
    assert [k for p in pages for k in keys(p)] == MANY_KEYS


def test_v2_max_keys_above_1000_is_capped(s3, many):  # type: ignore[no-untyped-def]
    r = s3.list_objects_v2(Bucket=many, MaxKeys=5000)
    assert len(r["Contents"]) == 1000
    assert r["IsTruncated"] is True


def test_v2_start_after_in_many_keys(s3, many):  # type: ignore[no-untyped-def]
    r = s3.list_objects_v2(Bucket=many, StartAfter="obj/02490")
    assert keys(r) == MANY_KEYS[2491:]


def test_v2_max_keys_zero_lists_nothing(s3, tree):  # type: ignore[no-untyped-def]
    r = s3.list_objects_v2(Bucket=tree, MaxKeys=0)
    assert keys(r) == []
    assert r["KeyCount"] == 0


def test_v2_keys_sort_by_utf8_bytes(s3, bucket):  # type: ignore[no-untyped-def]
    names = ["é", "Z", "a", "～", "😀", "a/b", "a b", "A"]
    for k in names:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    assert keys(s3.list_objects_v2(Bucket=bucket)) == sorted(names, key=str.encode)


def test_v2_encoding_type_url_encodes_keys(server, s3, bucket):  # type: ignore[no-untyped-def]
    names = ["with space", "ünï/çødé", "plus+sign", "amp&lt"]
    for k in names:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    x = raw_list(server, bucket, list_type="2", encoding_type="url")
    raw = [c.findtext(f"{NS}Key") for c in x.findall(f"{NS}Contents")]
    assert x.findtext(f"{NS}EncodingType") == "url"
    assert [unquote_plus(k) for k in raw] == sorted(names, key=str.encode)
    assert all(" " not in k and "+" not in k and "&" not in k and k.isascii() for k in raw)


def test_v2_encoding_type_url_encodes_prefixes_and_start_after(server, s3, bucket):  # type: ignore[no-untyped-def]
    for k in ["dír a/1", "dír a/2", "dír b/1"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    x = raw_list(server, bucket, list_type="2", encoding_type="url", delimiter="/", start_after="dír a", prefix="dír")
    assert [unquote_plus(p.findtext(f"{NS}Prefix")) for p in x.findall(f"{NS}CommonPrefixes")] == ["dír a/", "dír b/"]
    assert x.findtext(f"{NS}StartAfter") == quote("dír a")
    assert x.findtext(f"{NS}Prefix") == quote("dír")


def test_v2_without_encoding_type_writes_keys_as_xml_text(server, s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a&b <c>", Body=b"")
    x = raw_list(server, bucket, list_type="2")
    assert [c.findtext(f"{NS}Key") for c in x.findall(f"{NS}Contents")] == ["a&b <c>"]


def test_v2_unknown_encoding_type_is_invalid_argument(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "GET", f"/{bucket}", query={"list-type": "2", "encoding-type": "base64"})
    assert (r.status, r.error_code) == (400, "InvalidArgument")


def test_v2_bad_continuation_token_is_invalid_argument(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "GET", f"/{bucket}", query={"list-type": "2", "continuation-token": "garbage!"})
    assert (r.status, r.error_code) == (400, "InvalidArgument")


def test_v2_negative_max_keys_is_invalid_argument(server, bucket):  # type: ignore[no-untyped-def]
    r = rawhttp.call(server, "GET", f"/{bucket}", query={"list-type": "2", "max-keys": "-1"})
    assert (r.status, r.error_code) == (400, "InvalidArgument")


def test_v2_empty_bucket(s3, bucket):  # type: ignore[no-untyped-def]
    r = s3.list_objects_v2(Bucket=bucket)
    assert "Contents" not in r
    assert r["KeyCount"] == 0
    assert r["IsTruncated"] is False
    assert r["Name"] == bucket


def test_list_missing_bucket_is_no_such_bucket(s3):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket="no-such-bucket-here")
    assert e.value.response["Error"]["Code"] == "NoSuchBucket"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


# ---------- V1 ----------
def test_v1_lists_all_keys_with_owner(s3, tree):  # type: ignore[no-untyped-def]
    r = s3.list_objects(Bucket=tree)
    assert keys(r) == TREE
    assert r["IsTruncated"] is False
    assert r["Contents"][0]["Owner"]["ID"]


def test_v1_prefix_and_delimiter(s3, tree):  # type: ignore[no-untyped-def]
    r = s3.list_objects(Bucket=tree, Prefix="b/", Delimiter="/")
    assert keys(r) == ["b/1", "b/2"]
    assert prefixes(r) == ["b/c/"]
    assert r["Prefix"] == "b/"
    assert r["Delimiter"] == "/"


def test_v1_marker(s3, tree):  # type: ignore[no-untyped-def]
    r = s3.list_objects(Bucket=tree, Marker="c/4")
    assert keys(r) == ["d", "e/5/6", "f"]
    assert r["Marker"] == "c/4"


def test_v1_max_keys_truncates_without_next_marker(s3, tree):  # type: ignore[no-untyped-def]
    # S3 returns NextMarker only when a delimiter was given; clients use the last key otherwise
    r = s3.list_objects(Bucket=tree, MaxKeys=2)
    assert keys(r) == ["a", "b/1"]
    assert r["IsTruncated"] is True
    assert r["MaxKeys"] == 2
    assert "NextMarker" not in r


def test_v1_next_marker_with_delimiter(s3, tree):  # type: ignore[no-untyped-def]
    r = s3.list_objects(Bucket=tree, Delimiter="/", MaxKeys=2)
    assert keys(r) == ["a"]
    assert prefixes(r) == ["b/"]
    assert r["NextMarker"] == "b/"
    r2 = s3.list_objects(Bucket=tree, Delimiter="/", MaxKeys=2, Marker=r["NextMarker"])
    assert prefixes(r2) == ["c/"]
    assert keys(r2) == ["d"]


def test_v1_paginator_over_many_keys(s3, many):  # type: ignore[no-untyped-def]
    pages = list(s3.get_paginator("list_objects").paginate(Bucket=many))
    assert [len(p["Contents"]) for p in pages] == [1000, 1000, 500]
    assert [k for p in pages for k in keys(p)] == MANY_KEYS


def test_v1_paginator_with_delimiter(s3, many):  # type: ignore[no-untyped-def]
    pages = list(s3.get_paginator("list_objects").paginate(Bucket=many, Prefix="obj/0", Delimiter="0"))
    # every key obj/0NNNN holds a '0' after the prefix "obj/0" except obj/01111..obj/09999 patterns without one
    listed = [k for p in pages for k in keys(p)]
    rolled = [c for p in pages for c in prefixes(p)]
    expected_keys = [k for k in MANY_KEYS if k.startswith("obj/0") and "0" not in k[5:]]
    expected_prefixes = sorted({k[: k.index("0", 5) + 1] for k in MANY_KEYS if k.startswith("obj/0") and "0" in k[5:]})
    assert listed == expected_keys
    assert rolled == expected_prefixes


def test_v1_encoding_type_url(server, s3, bucket):  # type: ignore[no-untyped-def]
    for k in ["a b/1", "a b/2", "ü"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    x = raw_list(server, bucket, encoding_type="url", delimiter="/", marker="a", max_keys="1")
    assert x.findtext(f"{NS}EncodingType") == "url"
    assert [p.findtext(f"{NS}Prefix") for p in x.findall(f"{NS}CommonPrefixes")] == [quote("a b/")]
    assert x.findtext(f"{NS}NextMarker") == quote("a b/")
    assert x.findtext(f"{NS}Marker") == "a"


def test_v1_boto3_decodes_odd_keys(s3, bucket):  # type: ignore[no-untyped-def]
    names = ["a b", "ü+ö", "x%y"]
    for k in names:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    assert keys(s3.list_objects(Bucket=bucket)) == sorted(names, key=str.encode)


def test_listing_reports_storage_class(s3, bucket):  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="cold", Body=b"x", StorageClass="STANDARD_IA")
    s3.put_object(Bucket=bucket, Key="warm", Body=b"x")
    got = {o["Key"]: o["StorageClass"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert got == {"cold": "STANDARD_IA", "warm": "STANDARD"}
