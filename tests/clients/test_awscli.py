"""The aws CLI (v1, botocore with default checksums) against a real s3d: high-level `s3` and low-level `s3api`."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from tests.support.clients import AwsCli, md5_hex, multipart_etag, split, tree_files, write_tree

MiB = 1024 * 1024

# Names a real user has: spaces, non-ASCII, URL-reserved characters, nesting, an empty file.
TREE = {
    "empty.txt": b"",
    "a.txt": b"alpha\n",
    "b.txt": b"bravo\n",
    "dir with space/\u00fc-\u540d.txt": "unicode \u00fc\n".encode(),
    "sub/a+b=c&d.txt": b"reserved characters in the key\n",
    "sub/deep/x/blob.bin": os.urandom(200_000),  # above the inline threshold: a blob on disk
}


def transfers(out: str) -> list[tuple[str, str]]:
    """The sorted (action, S3 URL) pairs printed by `aws s3 cp/mv/sync/rm`: the destination for a copy, the S3 side
    otherwise. Local paths (printed relative to the working directory) are dropped."""
    found = []
    for line in out.splitlines():
        if not line.strip():
            continue
        m = re.match(r"^(upload|download|delete|copy|move): (.*)$", line)
        assert m, f"unexpected output line: {line!r}"
        urls = [part for part in m.group(2).split(" to ") if part.startswith("s3://")]
        assert urls, f"no S3 URL in: {line!r}"
        found.append((m.group(1), urls[0] if m.group(1) == "download" else urls[-1]))
    return sorted(found)


def ls_objects(out: str) -> dict[str, int]:
    """Parse `aws s3 ls` object lines ("DATE TIME SIZE KEY") into {key: size}; PRE lines are skipped."""
    found: dict[str, int] = {}
    for line in out.splitlines():
        if not line.strip() or line.strip().startswith("PRE "):
            continue
        _date, _time, size, key = line.split(None, 3)
        found[key] = int(size)
    return found


def ls_prefixes(out: str) -> list[str]:
    return sorted(line.split("PRE ", 1)[1] for line in out.splitlines() if line.strip().startswith("PRE "))


def list_keys(aws: AwsCli, bucket: str) -> dict[str, int]:
    """{key: size} for every object, through s3api list-objects-v2 (paginated by the CLI)."""
    r = aws.json("s3api", "list-objects-v2", "--bucket", bucket)
    return {o["Key"]: o["Size"] for o in r.get("Contents", [])}


def test_mb_ls_rb(aws: AwsCli, new_bucket_name: str) -> None:
    out = aws.out("s3", "mb", f"s3://{new_bucket_name}")
    assert f"make_bucket: {new_bucket_name}" in out
    assert new_bucket_name in [line.split()[-1] for line in aws.out("s3", "ls").splitlines()]
    assert aws.out("s3", "ls", f"s3://{new_bucket_name}") == ""
    # creating your own bucket again succeeds in us-east-1, as at AWS
    assert f"make_bucket: {new_bucket_name}" in aws.out("s3", "mb", f"s3://{new_bucket_name}")
    out = aws.out("s3", "rb", f"s3://{new_bucket_name}")
    assert f"remove_bucket: {new_bucket_name}" in out
    assert new_bucket_name not in aws.out("s3", "ls")
    gone = aws.run("s3api", "head-bucket", "--bucket", new_bucket_name, check=False)
    assert gone.returncode != 0 and b"404" in gone.stderr


def test_cp_single_file_round_trip(aws: AwsCli, bucket: str, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    out = aws.out("s3", "cp", str(src), f"s3://{bucket}/files/up.bin")
    assert transfers(out) == [("upload", f"s3://{bucket}/files/up.bin")]
    assert ls_objects(aws.out("s3", "ls", f"s3://{bucket}/files/")) == {"up.bin": len(data)}
    dst = tmp_path / "down.bin"
    out = aws.out("s3", "cp", f"s3://{bucket}/files/up.bin", str(dst))
    assert transfers(out) == [("download", f"s3://{bucket}/files/up.bin")]
    assert dst.read_bytes() == data
    head = aws.json("s3api", "head-object", "--bucket", bucket, "--key", "files/up.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == f'"{md5_hex(data)}"'


def test_cp_stdin_and_stdout(aws: AwsCli, bucket: str) -> None:
    data = b"streamed through a pipe\n" * 1000
    aws.run("s3", "cp", "-", f"s3://{bucket}/piped.txt", input=data)
    assert aws.run("s3", "cp", f"s3://{bucket}/piped.txt", "-").stdout == data
    assert list_keys(aws, bucket) == {"piped.txt": len(data)}


def test_cp_recursive_and_ls(aws: AwsCli, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_tree(src, TREE)
    out = aws.out("s3", "cp", "--recursive", str(src), f"s3://{bucket}/tree/")
    assert transfers(out) == sorted(("upload", f"s3://{bucket}/tree/{k}") for k in TREE)

    # --recursive lists full keys with their sizes
    listed = ls_objects(aws.out("s3", "ls", "--recursive", f"s3://{bucket}/"))
    assert listed == {f"tree/{k}": len(v) for k, v in TREE.items()}
    # without it, one level: the files there and PRE lines for the "directories"
    level = aws.out("s3", "ls", f"s3://{bucket}/tree/")
    assert ls_objects(level) == {k: len(v) for k, v in TREE.items() if "/" not in k}
    assert ls_prefixes(level) == ["dir with space/", "sub/"]
    assert ls_prefixes(aws.out("s3", "ls", f"s3://{bucket}/")) == ["tree/"]
    assert ls_objects(aws.out("s3", "ls", f"s3://{bucket}/tree/sub/")) == {"a+b=c&d.txt": len(TREE["sub/a+b=c&d.txt"])}

    dst = tmp_path / "dst"
    out = aws.out("s3", "cp", "--recursive", f"s3://{bucket}/tree/", str(dst))
    assert transfers(out) == sorted(("download", f"s3://{bucket}/tree/{k}") for k in TREE)
    assert tree_files(dst) == TREE


def test_sync_uploads_only_changes(aws: AwsCli, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_tree(src, TREE)
    first = aws.out("s3", "sync", str(src), f"s3://{bucket}/sync")
    assert transfers(first) == sorted(("upload", f"s3://{bucket}/sync/{k}") for k in TREE)
    assert list_keys(aws, bucket) == {f"sync/{k}": len(v) for k, v in TREE.items()}

    # nothing changed: the second run must find every object up to date (size and LastModified)
    assert aws.out("s3", "sync", str(src), f"s3://{bucket}/sync") == ""

    # change one file's size, add one, delete one: exactly those are transferred
    (src / "a.txt").write_bytes(b"alpha, longer now\n")
    (src / "new.txt").write_bytes(b"new file\n")
    (src / "sub" / "a+b=c&d.txt").unlink()
    out = aws.out("s3", "sync", "--delete", str(src), f"s3://{bucket}/sync")
    assert transfers(out) == [
        ("delete", f"s3://{bucket}/sync/sub/a+b=c&d.txt"),
        ("upload", f"s3://{bucket}/sync/a.txt"),
        ("upload", f"s3://{bucket}/sync/new.txt"),
    ]
    expected = tree_files(src)
    assert list_keys(aws, bucket) == {f"sync/{k}": len(v) for k, v in expected.items()}
    assert aws.out("s3", "sync", "--delete", str(src), f"s3://{bucket}/sync") == ""

    # and back down: a sync into an empty directory reproduces the tree byte for byte
    dst = tmp_path / "dst"
    out = aws.out("s3", "sync", f"s3://{bucket}/sync", str(dst))
    assert transfers(out) == sorted(("download", f"s3://{bucket}/sync/{k}") for k in expected)
    assert tree_files(dst) == expected
    assert aws.out("s3", "sync", f"s3://{bucket}/sync", str(dst)) == ""


def test_sync_tree_with_empty_file(aws: AwsCli, bucket: str, tmp_path: Path) -> None:
    """An empty file among others, uploaded over one connection (as any sync of a real directory does)."""
    aws.configure("[default]\ns3 =\n  max_concurrent_requests = 1\n")
    files = {"0-empty.txt": b"", **{f"{i}-full.txt": b"data %d\n" % i for i in range(1, 5)}}
    src = tmp_path / "src"
    write_tree(src, files)
    r = aws.run("s3", "sync", "--cli-read-timeout", "3", str(src), f"s3://{bucket}/e", check=False)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert transfers(r.stdout.decode()) == sorted(("upload", f"s3://{bucket}/e/{k}") for k in files)
    assert list_keys(aws, bucket) == {f"e/{k}": len(v) for k, v in files.items()}
    assert aws.out("s3", "sync", str(src), f"s3://{bucket}/e") == ""
    dst = tmp_path / "dst"
    aws.out("s3", "sync", f"s3://{bucket}/e", str(dst))
    assert tree_files(dst) == files


def test_mv_between_keys_and_back(aws: AwsCli, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "m.bin"
    data = os.urandom(100_000)
    src.write_bytes(data)
    aws.out("s3", "cp", str(src), f"s3://{bucket}/from/m.bin")
    out = aws.out("s3", "mv", f"s3://{bucket}/from/m.bin", f"s3://{bucket}/to/m.bin")  # CopyObject + DeleteObject
    assert transfers(out) == [("move", f"s3://{bucket}/to/m.bin")]
    assert list_keys(aws, bucket) == {"to/m.bin": len(data)}
    back = tmp_path / "back.bin"
    aws.out("s3", "mv", f"s3://{bucket}/to/m.bin", str(back))
    assert back.read_bytes() == data
    assert list_keys(aws, bucket) == {}


def test_rm_recursive_then_rb(aws: AwsCli, s3, new_bucket_name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    aws.out("s3", "mb", f"s3://{new_bucket_name}")
    src = tmp_path / "src"
    write_tree(src, TREE)
    aws.out("s3", "cp", "--recursive", str(src), f"s3://{new_bucket_name}/")
    for k, v in TREE.items():  # a second copy below keep/, set up by boto3 (fewer CLI processes)
        s3.put_object(Bucket=new_bucket_name, Key=f"keep/{k}", Body=v)

    # a single rm, then a recursive rm below one prefix leaves the rest alone
    assert transfers(aws.out("s3", "rm", f"s3://{new_bucket_name}/a.txt")) == [
        ("delete", f"s3://{new_bucket_name}/a.txt")
    ]
    out = aws.out("s3", "rm", "--recursive", f"s3://{new_bucket_name}/sub/")
    assert transfers(out) == sorted(("delete", f"s3://{new_bucket_name}/{k}") for k in TREE if k.startswith("sub/"))
    assert list_keys(aws, new_bucket_name) == {
        **{k: len(v) for k, v in TREE.items() if k != "a.txt" and not k.startswith("sub/")},
        **{f"keep/{k}": len(v) for k, v in TREE.items()},
    }

    # a non-empty bucket cannot be removed
    refused = aws.run("s3", "rb", f"s3://{new_bucket_name}", check=False)
    assert refused.returncode != 0 and b"BucketNotEmpty" in refused.stderr

    out = aws.out("s3", "rm", "--recursive", f"s3://{new_bucket_name}")
    assert len(transfers(out)) == len(TREE) + sum(1 for k in TREE if k != "a.txt" and not k.startswith("sub/"))
    assert list_keys(aws, new_bucket_name) == {}
    aws.out("s3", "rb", f"s3://{new_bucket_name}")
    assert new_bucket_name not in aws.out("s3", "ls")


def test_rb_force(aws: AwsCli, new_bucket_name: str, tmp_path: Path) -> None:
    aws.out("s3", "mb", f"s3://{new_bucket_name}")
    src = tmp_path / "src"
    write_tree(src, TREE)
    aws.out("s3", "sync", str(src), f"s3://{new_bucket_name}")
    assert len(list_keys(aws, new_bucket_name)) == len(TREE)
    aws.out("s3", "rb", "--force", f"s3://{new_bucket_name}")
    assert new_bucket_name not in aws.out("s3", "ls")


def test_s3api_put_head_get_list(aws: AwsCli, s3, bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = b"id,name\n1,alpha\n2,beta\n"
    body = tmp_path / "body.csv"
    body.write_bytes(data)
    put = aws.json(
        "s3api", "put-object", "--bucket", bucket, "--key", "tables/t.csv", "--body", str(body),
        "--content-type", "text/csv", "--metadata", "origin=cli,rows=2",
    )  # fmt: skip
    assert put["ETag"] == f'"{md5_hex(data)}"'

    head = aws.json("s3api", "head-object", "--bucket", bucket, "--key", "tables/t.csv")
    assert head["ContentLength"] == len(data)
    assert head["ContentType"] == "text/csv"
    assert head["Metadata"] == {"origin": "cli", "rows": "2"}
    assert head["ETag"] == put["ETag"]

    out = tmp_path / "out.csv"
    got = aws.json("s3api", "get-object", "--bucket", bucket, "--key", "tables/t.csv", str(out))
    assert out.read_bytes() == data
    assert got["ContentLength"] == len(data) and got["ETag"] == put["ETag"]
    assert got["Metadata"] == {"origin": "cli", "rows": "2"}

    part = tmp_path / "part.csv"
    got = aws.json(
        "s3api", "get-object", "--bucket", bucket, "--key", "tables/t.csv", "--range", "bytes=8-14", str(part)
    )
    assert part.read_bytes() == data[8:15]
    assert got["ContentRange"] == f"bytes 8-14/{len(data)}"

    for k in ["tables/u.csv", "other/v.csv"]:  # more objects to list (set up by boto3: fewer CLI processes)
        s3.put_object(Bucket=bucket, Key=k, Body=data)
    listed = aws.json("s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "tables/", "--no-paginate")
    assert [o["Key"] for o in listed["Contents"]] == ["tables/t.csv", "tables/u.csv"]
    assert all(o["Size"] == len(data) and o["ETag"] == put["ETag"] for o in listed["Contents"])
    assert listed["KeyCount"] == 2
    by_dir = aws.json("s3api", "list-objects-v2", "--bucket", bucket, "--delimiter", "/")
    assert [p["Prefix"] for p in by_dir["CommonPrefixes"]] == ["other/", "tables/"]
    assert "Contents" not in by_dir

    # pagination driven by the CLI itself: one key per page, all keys in the end
    paged = aws.json("s3api", "list-objects-v2", "--bucket", bucket, "--page-size", "1")
    assert [o["Key"] for o in paged["Contents"]] == ["other/v.csv", "tables/t.csv", "tables/u.csv"]

    missing = aws.run("s3api", "head-object", "--bucket", bucket, "--key", "nope", check=False)
    assert missing.returncode != 0 and b"404" in missing.stderr


def test_cp_above_multipart_threshold(aws: AwsCli, bucket: str, tmp_path: Path) -> None:
    """9 MiB: above the CLI's 8 MiB threshold, so an 8 MiB + 1 MiB multipart upload and a ranged, parallel download."""
    data = os.urandom(9 * MiB)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    aws.out("s3", "cp", str(src), f"s3://{bucket}/big.bin")
    head = aws.json("s3api", "head-object", "--bucket", bucket, "--key", "big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == f'"{multipart_etag(split(data, 8 * MiB))}"'
    dst = tmp_path / "big.down"
    aws.out("s3", "cp", f"s3://{bucket}/big.bin", str(dst))
    assert dst.read_bytes() == data
    assert ls_objects(aws.out("s3", "ls", f"s3://{bucket}/")) == {"big.bin": len(data)}


def test_s3api_multipart_upload(aws: AwsCli, bucket: str, tmp_path: Path) -> None:
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"the short last part"]
    key = "mp/object.bin"
    created = aws.json(
        "s3api", "create-multipart-upload", "--bucket", bucket, "--key", key, "--content-type", "application/x-test"
    )
    upload_id = created["UploadId"]
    assert created["Key"] == key and upload_id

    listed = aws.json("s3api", "list-multipart-uploads", "--bucket", bucket)
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == [(key, upload_id)]

    done = []
    # upload out of order: the part numbers, not the arrival order, decide the layout
    for n in (2, 1, 3):
        f = tmp_path / f"part{n}"
        f.write_bytes(parts[n - 1])
        r = aws.json(
            "s3api", "upload-part", "--bucket", bucket, "--key", key, "--upload-id", upload_id,
            "--part-number", str(n), "--body", str(f),
        )  # fmt: skip
        assert r["ETag"] == f'"{md5_hex(parts[n - 1])}"'
        done.append({"PartNumber": n, "ETag": r["ETag"]})

    lp = aws.json("s3api", "list-parts", "--bucket", bucket, "--key", key, "--upload-id", upload_id)
    assert [(p["PartNumber"], p["Size"]) for p in lp["Parts"]] == [(i + 1, len(p)) for i, p in enumerate(parts)]

    spec = tmp_path / "parts.json"
    spec.write_text(json.dumps({"Parts": sorted(done, key=lambda p: p["PartNumber"])}))
    completed = aws.json(
        "s3api", "complete-multipart-upload", "--bucket", bucket, "--key", key, "--upload-id", upload_id,
        "--multipart-upload", f"file://{spec}",
    )  # fmt: skip
    expected_etag = f'"{multipart_etag(parts)}"'
    assert completed["ETag"] == expected_etag

    out = tmp_path / "out.bin"
    got = aws.json("s3api", "get-object", "--bucket", bucket, "--key", key, str(out))
    assert out.read_bytes() == b"".join(parts)
    assert got["ETag"] == expected_etag and got["ContentType"] == "application/x-test"
    assert list_keys(aws, bucket) == {key: sum(map(len, parts))}
    assert aws.json("s3api", "list-multipart-uploads", "--bucket", bucket).get("Uploads", []) == []
