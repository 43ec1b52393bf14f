"""ls, put, get, cp, rm, tag, mb, rb against the session's daemon: output, exit codes, bytes."""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.cli.conftest import Cli

MiB = 1024 * 1024


def test_put_file_get_file_round_trip(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(300_000)
    (cli.cwd / "in.bin").write_bytes(data)
    r = cli.ok("put", f"{bucket}/dir/in.bin", "in.bin")
    assert r.out == f"put {bucket}/dir/in.bin (293.0 KiB)\n"
    assert s3.get_object(Bucket=bucket, Key="dir/in.bin")["Body"].read() == data
    r = cli.ok("get", f"{bucket}/dir/in.bin", "out.bin")
    assert r.out == f"got {bucket}/dir/in.bin -> out.bin (293.0 KiB)\n"
    assert (cli.cwd / "out.bin").read_bytes() == data
    assert [p.name for p in cli.cwd.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


def test_put_stdin_get_stdout_round_trip(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(70_000) + b"\x00\xff\r\n"
    cli.ok("put", f"{bucket}/piped", input=data)
    cli.ok("put", f"{bucket}/dashed", "-", input=data)
    assert s3.get_object(Bucket=bucket, Key="piped")["Body"].read() == data
    assert cli.ok("get", f"{bucket}/piped", data_out=True).stdout == data
    assert cli.ok("get", f"{bucket}/dashed", "-", data_out=True).stdout == data


def test_put_empty_stdin(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    assert cli.ok("put", f"{bucket}/empty", input=b"").out == f"put {bucket}/empty (0 B)\n"
    assert s3.head_object(Bucket=bucket, Key="empty")["ContentLength"] == 0
    assert cli.ok("get", f"{bucket}/empty").stdout == b""


def test_multipart_sized_upload_from_a_pipe(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    """Above the multipart threshold from a non-seekable stdin: parts, then the same bytes back."""
    data = os.urandom(70 * MiB)
    r = cli.ok("put", f"{bucket}/big", input=data, timeout=300)
    assert r.out == f"put {bucket}/big (70.0 MiB)\n"
    assert s3.head_object(Bucket=bucket, Key="big")["ETag"].strip('"').endswith("-5")  # 16 MiB parts
    assert cli.ok("get", f"{bucket}/big", timeout=300, data_out=True).stdout == data


def test_put_to_a_prefix_takes_the_file_name_and_guesses_the_type(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    (cli.cwd / "page.html").write_bytes(b"<p>hi</p>")
    cli.ok("put", f"{bucket}/site/", "page.html")
    assert s3.head_object(Bucket=bucket, Key="site/page.html")["ContentType"] == "text/html"
    r = cli("put", f"{bucket}/site/", input=b"x")
    assert r.code == 2
    assert "name the key" in r.err


def test_put_tags_meta_and_content_type(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    cli.ok("put", f"{bucket}/k", "--tag", "s3d.upload=false", "--tag", "team=a b&c", "--meta", "owner=me",
           "--content-type", "application/x-thing", input=b"body")  # fmt: skip
    tags = s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"s3d.upload": "false", "team": "a b&c"}
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["Metadata"] == {"owner": "me"}
    assert head["ContentType"] == "application/x-thing"


def test_put_non_ascii_meta_is_sent_rfc_2047_encoded(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    cli.ok("put", f"{bucket}/k", "--meta", "note=café", input=b"body")  # botocore alone refuses non-ASCII metadata
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"note": "=?UTF-8?B?Y2Fmw6k=?="}


def test_get_into_a_directory_uses_the_key_name(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="a/b/c.txt", Body=b"ccc")
    (cli.cwd / "dl").mkdir()
    cli.ok("get", f"{bucket}/a/b/c.txt", "dl")
    assert (cli.cwd / "dl" / "c.txt").read_bytes() == b"ccc"


def test_get_errors_name_the_s3_error(cli: Cli, bucket: str) -> None:
    r = cli("get", f"{bucket}/missing", "out")
    assert (r.code, r.stdout) == (1, b"")
    assert r.err == f"s3d get: NoSuchKey: The specified key does not exist. (/{bucket}/missing)\n"
    assert not (cli.cwd / "out").exists()
    r = cli("get", "no-such-bucket-here/k")
    assert r.code == 1
    assert r.err.startswith("s3d get: NoSuchBucket: ")
    r = cli("put", f"{bucket}/k", "does-not-exist")
    assert r.code == 1
    assert r.err == "s3d put: cannot read does-not-exist: No such file or directory\n"


def test_ls_buckets(cli: Cli, bucket: str) -> None:
    r = cli.ok("ls")
    line = next(line for line in r.out.splitlines() if line.endswith(f"  {bucket}"))
    assert re.fullmatch(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d  {bucket}", line)
    names = [b["name"] for b in json.loads(cli.ok("ls", "--json").out)]
    assert bucket in names


@pytest.fixture
def tree(s3, bucket: str) -> str:  # type: ignore[no-untyped-def]
    for key, size in [
        ("a.txt", 10),
        ("dir/b.bin", 2048),
        ("dir/sub/c.bin", 3 * MiB // 2),
        ("dir2/d", 0),
        ("dir.txt", 1),
    ]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * size)
    return bucket


def _listing(out: str) -> list[tuple[str, str]]:
    """(size column, name) per line."""
    rows = []
    for line in out.splitlines():
        m = re.fullmatch(r"(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d| {19})  +(\S+(?: \S+)?)  (.+)", line)
        assert m, line
        rows.append((m.group(1), m.group(2)))
    return rows


def test_ls_one_level_with_human_sizes(cli: Cli, tree: str) -> None:
    assert _listing(cli.ok("ls", tree).out) == [
        ("10 B", "a.txt"),
        ("1 B", "dir.txt"),  # S3 order: "." sorts before "/"
        ("DIR", "dir/"),
        ("DIR", "dir2/"),
    ]
    assert _listing(cli.ok("ls", f"{tree}/dir/").out) == [("2.0 KiB", "dir/b.bin"), ("DIR", "dir/sub/")]
    assert _listing(cli.ok("ls", f"s3://{tree}/dir").out) == [("1 B", "dir.txt"), ("DIR", "dir/"), ("DIR", "dir2/")]


def test_ls_recursive(cli: Cli, tree: str) -> None:
    assert _listing(cli.ok("ls", "-r", tree).out) == [
        ("10 B", "a.txt"), ("1 B", "dir.txt"), ("2.0 KiB", "dir/b.bin"), ("1.5 MiB", "dir/sub/c.bin"), ("0 B", "dir2/d"),
    ]  # fmt: skip
    assert _listing(cli.ok("ls", "--recursive", f"{tree}/dir/").out) == [
        ("2.0 KiB", "dir/b.bin"),
        ("1.5 MiB", "dir/sub/c.bin"),
    ]


def test_ls_json(cli: Cli, tree: str) -> None:
    entries = json.loads(cli.ok("ls", "--json", tree).out)
    assert [e.get("key") or e.get("prefix") for e in entries] == ["a.txt", "dir.txt", "dir/", "dir2/"]
    a = entries[0]
    assert a["size"] == 10 and len(a["etag"]) == 32 and a["last_modified"][:2] == "20"
    sizes = {e["key"]: e["size"] for e in json.loads(cli.ok("ls", "-r", "--json", tree).out)}
    assert sizes == {"a.txt": 10, "dir/b.bin": 2048, "dir/sub/c.bin": 3 * MiB // 2, "dir.txt": 1, "dir2/d": 0}


def test_ls_of_a_missing_bucket(cli: Cli) -> None:
    r = cli("ls", "no-such-bucket-here")
    assert r.code == 1
    assert r.err.startswith("s3d ls: NoSuchBucket: The specified bucket does not exist.")


def _keys(s3, bucket: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_rm_one_object(cli: Cli, s3, tree: str) -> None:  # type: ignore[no-untyped-def]
    assert cli.ok("rm", f"{tree}/a.txt").out == f"removed {tree}/a.txt\n"
    assert "a.txt" not in _keys(s3, tree)
    r = cli("rm", f"{tree}/a.txt")
    assert r.code == 1
    assert r.err == f"s3d rm: {tree}/a.txt: NoSuchKey: no such object\n"
    assert cli("rm", "-f", f"{tree}/a.txt").code == 0


def test_rm_recursive_prefix(cli: Cli, s3, tree: str) -> None:  # type: ignore[no-untyped-def]
    assert cli.ok("rm", "-r", f"{tree}/dir/").out == f"removed 2 objects under {tree}/dir/\n"
    assert _keys(s3, tree) == ["a.txt", "dir.txt", "dir2/d"]  # dir.txt only shares the letters
    r = cli("rm", "-r", f"{tree}/dir/")
    assert (r.code, r.err) == (1, f"s3d rm: nothing to remove under {tree}/dir/\n")
    assert cli("rm", "-rf", f"{tree}/dir/").code == 0


def test_rm_recursive_without_slash_takes_the_object_and_its_folder(cli: Cli, s3, tree: str) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=tree, Key="dir", Body=b"an object named like the folder")
    assert cli.ok("rm", "-r", f"{tree}/dir").out == f"removed 3 objects under {tree}/dir/\n"
    assert _keys(s3, tree) == ["a.txt", "dir.txt", "dir2/d"]


def test_rm_recursive_whole_bucket(cli: Cli, s3, tree: str) -> None:  # type: ignore[no-untyped-def]
    assert cli.ok("rm", "-r", tree).out == f"removed 5 objects under {tree}/\n"
    assert _keys(s3, tree) == []


def test_cp_local_to_bucket_and_back(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(5000)
    (cli.cwd / "f.dat").write_bytes(data)
    assert cli.ok("cp", "f.dat", f"{bucket}/x/").out == f"copied f.dat -> {bucket}/x/f.dat (4.9 KiB)\n"
    assert (
        cli.ok("cp", "./f.dat", f"s3://{bucket}/y", "--tag", "k=v").out == f"copied ./f.dat -> {bucket}/y (4.9 KiB)\n"
    )
    assert s3.get_object_tagging(Bucket=bucket, Key="y")["TagSet"] == [{"Key": "k", "Value": "v"}]
    assert cli.ok("cp", f"{bucket}/x/f.dat", "./back.dat").out == f"copied {bucket}/x/f.dat -> back.dat (4.9 KiB)\n"
    assert (cli.cwd / "back.dat").read_bytes() == data
    assert cli.ok("cp", f"{bucket}/y", "-", data_out=True).stdout == data
    cli.ok("cp", "-", f"{bucket}/z", input=b"from stdin")
    assert s3.get_object(Bucket=bucket, Key="z")["Body"].read() == b"from stdin"


def test_cp_bucket_to_bucket(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    other = bucket + "-other"
    cli.ok("mb", other)
    try:
        s3.put_object(Bucket=bucket, Key="src/obj", Body=b"copy me", Tagging="t=1")
        assert (
            cli.ok("cp", f"{bucket}/src/obj", f"{other}/dst/obj").out
            == f"copied {bucket}/src/obj -> {other}/dst/obj (7 B)\n"
        )
        assert cli.ok("cp", f"{bucket}/src/obj", f"{other}/").out == f"copied {bucket}/src/obj -> {other}/obj (7 B)\n"
        assert s3.get_object(Bucket=other, Key="dst/obj")["Body"].read() == b"copy me"
        assert s3.get_object(Bucket=other, Key="obj")["Body"].read() == b"copy me"
        r = cli("cp", f"{bucket}/src/nothing", f"{other}/x")
        assert r.code == 1
        assert r.err == f"s3d cp: {bucket}/src/nothing: NoSuchKey: The specified key does not exist.\n"
    finally:
        cli.ok("rb", "-f", other)


def test_tag_set_merge_delete(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="a=1")
    assert cli.ok("tag", f"{bucket}/t").out == "a=1\n"
    assert cli.ok("tag", f"{bucket}/t", "b=2", "a=3").out == "a=3\nb=2\n"
    assert json.loads(cli.ok("tag", f"{bucket}/t", "--json").out) == {"a": "3", "b": "2"}
    assert cli.ok("tag", f"{bucket}/t", "--delete", "a").out == "b=2\n"
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "b", "Value": "2"}]
    assert cli.ok("tag", f"{bucket}/t", "--delete").out == ""
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []
    r = cli("tag", f"{bucket}/missing", "a=1")
    assert r.code == 1
    assert r.err.startswith("s3d tag: NoSuchKey: ")


def test_mb_rb(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    name = bucket + "-mb"
    assert cli.ok("mb", name).out == f"made bucket {name}\n"
    s3.head_bucket(Bucket=name)
    assert cli.ok("mb", name).out == f"made bucket {name}\n"  # your own bucket, again: S3 (us-east-1) says 200
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    r = cli("rb", name)
    assert r.code == 1
    assert r.err.startswith("s3d rb: BucketNotEmpty: ")
    assert cli.ok("rb", "-f", name).out == f"removed bucket {name} and its 1 object\n"
    r = cli("rb", name)
    assert r.code == 1
    assert r.err.startswith("s3d rb: NoSuchBucket: ")
    assert cli("mb", "Not_A_Valid_Name").code == 1
