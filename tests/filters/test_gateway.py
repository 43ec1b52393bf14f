"""upload_filter and cache_filter in gateway mode, against a real remote (`rclone serve s3`)."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.gateway.conftest import Gateway, own_gateway

BUCKET = "filtered"


def remote_keys(gw: Gateway, bucket: str = BUCKET) -> list[str]:
    try:
        listing = gw.remote.client().list_objects_v2(Bucket=bucket)
    except ClientError:
        return []
    return sorted(o["Key"] for o in listing.get("Contents", []))


def flushed(gw: Gateway) -> dict[str, Any]:
    body = gw.flush(timeout=60)
    assert body["flushed"], body
    return body


def cache_header(resp: dict[str, Any]) -> str:
    return str(resp["ResponseMetadata"]["HTTPHeaders"]["x-s3d-cache"])


def set_tags(s3: Any, key: str, **tags: str) -> None:
    s3.put_object_tagging(Bucket=BUCKET, Key=key, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})


def test_excluded_objects_stay_local_and_included_ones_ship(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--upload-filter", f"- {BUCKET}/local/**") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="local/secret", Body=b"stays here")
        s3.put_object(Bucket=BUCKET, Key="shared/report", Body=b"goes there")
        flushed(gw)  # flush does not wait for the held object
        assert remote_keys(gw) == ["shared/report"]
        assert s3.get_object(Bucket=BUCKET, Key="local/secret")["Body"].read() == b"stays here"


def test_held_by_filter_counts_in_status_and_metrics(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--upload-filter", f"- {BUCKET}/*.tmp") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="a.tmp", Body=b"x" * 1000)
        s3.put_object(Bucket=BUCKET, Key="b.tmp", Body=b"y" * 234)
        s3.put_object(Bucket=BUCKET, Key="c.txt", Body=b"z" * 50)
        s3.put_object(Bucket=BUCKET, Key="d.txt", Body=b"w" * 7, Tagging="s3d.upload=false")
        flushed(gw)
        st = gw.status()
        assert (st["held_by_filter_objects"], st["held_by_filter_bytes"]) == (2, 1234)
        assert (st["held_by_tag_objects"], st["held_by_tag_bytes"]) == (1, 7)
        with urllib.request.urlopen(gw.s3d.endpoint + "/metrics", timeout=30) as r:
            metrics = r.read().decode()
        assert "s3d_held_by_filter_objects 2.0" in metrics
        assert "s3d_held_by_filter_bytes 1234.0" in metrics
        assert "s3d_held_by_tag_objects 1.0" in metrics
        out = subprocess.run([sys.executable, "-m", "s3d", "status", "--endpoint", gw.s3d.endpoint], capture_output=True,
                             env={**os.environ, "S3D_ACCESS_KEY": gw.s3d.access_key, "S3D_SECRET_KEY": gw.s3d.secret_key},
                             timeout=60, check=True).stdout.decode()  # fmt: skip
        assert (
            "  held       2 objects (1.2 KiB) by upload_filter, 1 object (7 B) by s3d.upload=false" in out.splitlines()
        )


def test_a_retag_that_makes_the_filter_match_ships_a_held_object(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--upload-filter", "+ *[tag:share=yes]; - **") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="doc", Body=b"draft")
        flushed(gw)
        assert remote_keys(gw) == []
        set_tags(s3, "doc", share="yes")
        flushed(gw)
        assert remote_keys(gw) == ["doc"]
        assert gw.remote.client().get_object(Bucket=BUCKET, Key="doc")["Body"].read() == b"draft"
        assert gw.status()["held_by_filter_objects"] == 0


def test_a_metadata_copy_that_makes_the_filter_match_ships_a_held_object(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--upload-filter", "- *[md:state!=final]") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="paper", Body=b"v1", Metadata={"state": "draft"})
        flushed(gw)
        assert remote_keys(gw) == []
        s3.copy_object(Bucket=BUCKET, Key="paper", CopySource={"Bucket": BUCKET, "Key": "paper"},
                       Metadata={"state": "final"}, MetadataDirective="REPLACE")  # fmt: skip
        flushed(gw)
        assert remote_keys(gw) == ["paper"]
        meta = gw.remote.client().head_object(Bucket=BUCKET, Key="paper")["Metadata"]
        assert {k.lower(): v for k, v in meta.items()} == {"state": "final"}


def test_upload_tags_win_over_the_filter(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--upload-filter", f"- {BUCKET}/no/**") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="no/but-tagged", Body=b"1", Tagging="s3d.upload=true")
        s3.put_object(Bucket=BUCKET, Key="yes/but-tagged", Body=b"2", Tagging="s3d.upload=false")
        s3.put_object(Bucket=BUCKET, Key="yes/plain", Body=b"3")
        flushed(gw)
        assert remote_keys(gw) == ["no/but-tagged", "yes/plain"]


def test_a_bucket_retag_ships_what_the_filter_now_includes(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--upload-filter", "- *[btag:tier=local]") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "tier", "Value": "local"}]})
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"held while the bucket is local")
        flushed(gw)
        assert remote_keys(gw) == []
        s3.delete_bucket_tagging(Bucket=BUCKET)
        flushed(gw)
        assert remote_keys(gw) == ["k"]


def test_restart_with_a_changed_filter_ships_what_it_now_includes_and_touches_nothing_shipped(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--upload-filter", f"- {BUCKET}/a/**") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="a/held", Body=b"was excluded")
        s3.put_object(Bucket=BUCKET, Key="b/shipped", Body=b"was included")
        flushed(gw)
        assert remote_keys(gw) == ["b/shipped"]
        assert gw.s3d.stop() == 0
        gw.s3d.args = [a if a != f"- {BUCKET}/a/**" else f"- {BUCKET}/b/**" for a in gw.s3d.args]
        gw.s3d.start()
        flushed(gw)
        assert remote_keys(gw) == ["a/held", "b/shipped"]
        assert gw.remote.client().get_object(Bucket=BUCKET, Key="b/shipped")["Body"].read() == b"was included"
        st = gw.status()
        assert (st["held_by_filter_objects"], st["pending_records"]) == (0, 0)


def test_cache_filter_serves_excluded_remote_objects_without_caching_them(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--cache-filter", f"- {BUCKET}/stream/**") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket=BUCKET)
        flushed(gw)
        rc = gw.remote.client()
        rc.put_object(Bucket=BUCKET, Key="stream/video", Body=b"v" * 5000)
        rc.put_object(Bucket=BUCKET, Key="docs/page", Body=b"p" * 3000)
        for _ in range(2):
            r = s3.get_object(Bucket=BUCKET, Key="stream/video")
            assert (r["Body"].read(), cache_header(r)) == (b"v" * 5000, "bypass")
        r = s3.get_object(Bucket=BUCKET, Key="stream/video", Range="bytes=10-19")
        assert (r["Body"].read(), cache_header(r)) == (b"v" * 10, "bypass")
        for expected in ("miss", "hit"):
            r = s3.get_object(Bucket=BUCKET, Key="docs/page")
            assert (r["Body"].read(), cache_header(r)) == (b"p" * 3000, expected)
        assert gw.status()["cache_bytes"] == 3000


def test_a_pin_wins_over_the_cache_filter(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--cache-filter", "- **") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket=BUCKET)
        flushed(gw)
        rc = gw.remote.client()
        rc.put_object(Bucket=BUCKET, Key="pinned/one", Body=b"1" * 100)
        rc.put_object(Bucket=BUCKET, Key="other", Body=b"2" * 100)
        s3.head_object(Bucket=BUCKET, Key="pinned/one")  # known here at once (not after the next listing refresh)
        code, body = gw.admin("POST", f"/_s3d/pin?bucket={BUCKET}&prefix=pinned/")
        assert code == 200 and body["objects"] == 1, body
        r = s3.get_object(Bucket=BUCKET, Key="pinned/one")
        assert (r["Body"].read(), cache_header(r)) == (b"1" * 100, "hit")
        assert cache_header(s3.get_object(Bucket=BUCKET, Key="other")) == "bypass"


def test_prefetch_skips_what_the_cache_filter_excludes(tmp_path: Path) -> None:
    with own_gateway(tmp_path, "--cache-filter", f"- {BUCKET}/skip/**") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket=BUCKET)
        flushed(gw)
        rc = gw.remote.client()
        for key in ("skip/a", "keep/b"):
            rc.put_object(Bucket=BUCKET, Key=key, Body=b"z" * 700)
            s3.head_object(Bucket=BUCKET, Key=key)
        code, body = gw.admin("POST", f"/_s3d/prefetch?bucket={BUCKET}")
        assert code == 200 and (body["objects"], body["bytes"], body["done"]) == (1, 700, True), body
        assert gw.status()["cache_bytes"] == 700


@pytest.mark.parametrize("flag", ["--upload-filter", "--cache-filter"])
def test_gateway_filters_refuse_local_mode(tmp_path: Path, flag: str) -> None:
    r = subprocess.run([sys.executable, "-m", "s3d", "run", "--data", str(tmp_path / "d"), flag, "- **"],
                       capture_output=True, timeout=60)  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.decode().strip().splitlines() == [
        f"s3d: setting {flag[2:].replace('-', '_')} needs gateway mode (--remote)"
    ]
