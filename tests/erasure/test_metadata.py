"""The metadata on M+1 drives: losing the data dir's drive and one more (M=2) loses no object, no version,
no journal record."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from tests.conftest import client_for
from tests.erasure.conftest import M, pool_args, wipe
from tests.support.server import S3dProcess

BUCKET = "meta"


def last_lsn(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT max(lsn) FROM journal").fetchone()[0])
    finally:
        conn.close()


def versions(s3) -> list[tuple[str, str, bool, str | None]]:  # type: ignore[no-untyped-def]
    listing = s3.list_object_versions(Bucket=BUCKET)
    out = [(v["Key"], v["VersionId"], False, v["ETag"]) for v in listing.get("Versions", [])]
    out += [(d["Key"], d["VersionId"], True, None) for d in listing.get("DeleteMarkers", [])]
    return sorted(out)


def test_lose_the_database_drive_and_one_more(tmp_path: Path, drives: list[Path]) -> None:
    data = tmp_path / "data"
    proc = S3dProcess(data, workers=2, args=pool_args(drives)).start()
    s3 = client_for(proc.endpoint, proc.access_key, proc.secret_key)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    small, big, newer = b"inline bytes", os.urandom((2 << 20) + 5), os.urandom(1 << 20)
    s3.put_object(Bucket=BUCKET, Key="small", Body=small)
    s3.put_object(Bucket=BUCKET, Key="big", Body=big)
    s3.put_object(Bucket=BUCKET, Key="big", Body=newer)
    s3.put_object(Bucket=BUCKET, Key="gone", Body=b"x")
    s3.delete_object(Bucket=BUCKET, Key="gone")
    s3.put_object(Bucket=BUCKET, Key="sse", Body=big, ServerSideEncryption="AES256")
    before = versions(s3)
    lsn = last_lsn(data / "meta.db")
    proc.kill9()  # no clean shutdown: what the mirrors hold is what every acknowledged commit left
    shutil.rmtree(data)  # the data dir's drive is lost ...
    wipe(drives[0])  # ... and one more: M losses, one of them a metadata mirror
    assert M == 2
    proc = S3dProcess(data, workers=2, args=pool_args(drives)).start()
    try:
        s3 = client_for(proc.endpoint, proc.access_key, proc.secret_key)
        assert versions(s3) == before
        assert last_lsn(data / "meta.db") == lsn
        assert s3.get_object(Bucket=BUCKET, Key="small")["Body"].read() == small
        assert s3.get_object(Bucket=BUCKET, Key="big")["Body"].read() == newer
        older = [v for k, v, marker, _ in before if k == "big"]
        got = {s3.get_object(Bucket=BUCKET, Key="big", VersionId=v)["Body"].read() for v in older}
        assert got == {big, newer}
        assert s3.get_object(Bucket=BUCKET, Key="sse")["Body"].read() == big  # the master key came back too
        s3.put_object(Bucket=BUCKET, Key="after", Body=b"still writable")
        assert s3.get_object(Bucket=BUCKET, Key="after")["Body"].read() == b"still writable"
    finally:
        proc.stop()


def dump(db: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        conn.close()


def test_mirrors_hold_the_same_rows_as_the_primary(pool_s3, pool_server: S3dProcess, drives: list[Path]) -> None:  # type: ignore[no-untyped-def]
    pool_s3.create_bucket(Bucket=BUCKET)
    pool_s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for i in range(5):
        pool_s3.put_object(Bucket=BUCKET, Key=f"k{i % 2}", Body=os.urandom(100 + i * 70000))
    pool_s3.delete_object(Bucket=BUCKET, Key="k0")
    up = pool_s3.create_multipart_upload(Bucket=BUCKET, Key="mp")["UploadId"]
    pool_s3.upload_part(Bucket=BUCKET, Key="mp", UploadId=up, PartNumber=1, Body=b"part")
    pool_s3.put_object_tagging(Bucket=BUCKET, Key="k1", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    primary = dump(pool_server.data / "meta.db")
    assert primary["journal"]
    for d in drives[:M]:
        assert dump(d / "meta" / "meta.db") == primary  # clock readings and random ids included
