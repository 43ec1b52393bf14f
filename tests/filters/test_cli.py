"""`s3d filter check`, `s3d filter why`, and filter settings refused at start with the setting and the column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, cli_for
from tests.conftest import client_for
from tests.filters.test_gateway import BUCKET
from tests.gateway.conftest import own_gateway
from tests.support.server import S3dProcess


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def test_check_prints_the_rules_in_canonical_form(cli: Cli) -> None:
    r = cli.ok("filter", "check", "-logs/*.tmp ; +photos/raw/* [tag:review != pending]  # raw photos\n[size>1GiB]")
    assert r.out.splitlines() == [
        "- logs/*.tmp",
        "+ photos/raw/*[tag:review!=pending]",
        "+ [size>1GiB]",
        "# no rule matches: include",
    ]


def test_check_reads_a_file_named_with_at(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "rules").write_text("# keep drafts local\n- *[md:state=draft]\n")
    assert cli.ok("filter", "check", f"@{tmp_path / 'rules'}").out.splitlines() == [
        "- *[md:state=draft]",
        "# no rule matches: include",
    ]


def test_check_exits_2_with_the_error_position(cli: Cli) -> None:
    r = cli("filter", "check", "- logs/*.tmp\n+ photos/*[tag:x>abc]")
    assert r.code == 2 and r.stdout == b""
    assert r.err.splitlines() == [
        "s3d filter check: line 2, column 18: > compares numbers: use = or != to compare text",
        "  + photos/*[tag:x>abc]",
        "                   ^",
    ]


@pytest.mark.parametrize(
    "where, expected",
    [
        ("flag", "s3d: setting upload_filter: line 1, column 9: unknown condition 'siz'"),
        ("env", "s3d: setting upload_filter: line 1, column 9: unknown condition 'siz'"),
        ("toml", "s3d: setting upload_filter: line 1, column 9: unknown condition 'siz'"),
        ("file", "s3d: setting upload_filter (@{rules}): line 2, column 9: unknown condition 'siz'"),
    ],
)
def test_a_bad_filter_refuses_to_start_with_one_line(cli: Cli, tmp_path: Path, where: str, expected: str) -> None:
    bad = "- a/*.x[siz>1]"
    rules = tmp_path / "rules"
    rules.write_text(f"+ ok/**\n{bad}\n")
    (tmp_path / "s3d.toml").write_text(f"upload_filter = {json.dumps(bad)}\n")
    args = ["run", "--data", str(tmp_path / "d"), "--remote", "http://127.0.0.1:9"]
    env: dict[str, str] = {}
    if where == "flag":
        args += ["--upload-filter", bad]
    elif where == "env":
        env["S3D_UPLOAD_FILTER"] = bad
    elif where == "toml":
        args += ["--config", str(tmp_path / "s3d.toml")]
    else:
        args += ["--upload-filter", f"@{rules}"]
    r = cli(*args, env=env, timeout=60)
    assert r.code == 2
    assert r.err.splitlines() == [
        expected.format(rules=rules) + "; use tag:NAME, btag:NAME, md:NAME, hdr:NAME, age or size"
    ]


def test_why_names_the_deciding_rule_for_each_feature(tmp_path: Path) -> None:
    rules = f"- {BUCKET}/tmp/**\n+ {BUCKET}/**[tag:share=yes]\n- **"
    with own_gateway(tmp_path, "--upload-filter", rules, "--cache-filter", "- *[btag:tier=cold]") as gw:
        s3 = gw.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "tier", "Value": "cold"}]})
        s3.put_object(Bucket=BUCKET, Key="doc", Body=b"abc", Tagging="share=no", Metadata={"owner": "ann"})
        cli = cli_for(gw.s3d, tmp_path)
        out = cli.ok("filter", "why", f"{BUCKET}/doc").out.splitlines()
        assert out == [
            f"{BUCKET}/doc  3 B",
            "  tags: share=no",
            "  bucket tags: tier=cold",
            "  metadata: x-amz-meta-owner=ann",
            "upload  exclude: upload_filter line 3 `- **` matches: exclude",
            f"          line 1: - {BUCKET}/tmp/**  (pattern does not match)",
            f"          line 2: + {BUCKET}/**[tag:share=yes]  (pattern matches; [tag:share=yes] is false (the object has 'no'))",
            "          line 3: - **  (matches)",
            "cache   exclude: cache_filter line 1 `- *[btag:tier=cold]` matches: exclude",
            "          line 1: - *[btag:tier=cold]  (matches)",
            "sync    include: no sync_filter: everything is included",
            "mount   include: no mount_filter: everything is included",
        ]
        s3.put_object_tagging(Bucket=BUCKET, Key="doc", Tagging={"TagSet": [{"Key": "s3d.upload", "Value": "true"}]})
        body = json.loads(cli.ok("filter", "why", f"{BUCKET}/doc", "--json").out)
        assert body["features"]["upload"]["include"] is True
        assert body["features"]["upload"]["decided_by"] == "tag"


def test_why_is_scoped_to_the_callers_own_buckets(tmp_path: Path) -> None:
    (tmp_path / "s3d.toml").write_text(
        'sync_filter = "- *[size>1K]"\nmount_filter = "@' + str(tmp_path / "mount.rules") + '"\n'
        '[[users]]\nname = "alice"\naccess_key = "AKALICE"\nsecret_key = "alice-secret-0123"\n'
        '[[users]]\nname = "bob"\naccess_key = "AKBOB"\nsecret_key = "bob-secret-01234"\n'
    )  # fmt: skip
    (tmp_path / "mount.rules").write_text("+ alices/visible/*\n- **\n")
    d = S3dProcess(tmp_path / "data", args=["--config", str(tmp_path / "s3d.toml")],
                   access_key="AKALICE", secret_key="alice-secret-0123").start()  # fmt: skip
    try:
        alice = client_for(d.endpoint, "AKALICE", "alice-secret-0123")
        alice.create_bucket(Bucket="alices")
        alice.put_object(Bucket="alices", Key="visible/big", Body=b"x" * 2000)
        as_alice = cli_for(d, tmp_path)
        body = json.loads(as_alice.ok("filter", "why", "alices/visible/big", "--json").out)
        verdicts = {f: (v["include"], v["decided_by"]) for f, v in body["features"].items()}
        assert verdicts == {"upload": (True, "no filter"), "cache": (True, "no filter"),
                            "sync": (False, "rule"), "mount": (True, "rule")}  # fmt: skip
        as_bob = cli_for(d, tmp_path, S3D_ACCESS_KEY="AKBOB", S3D_SECRET_KEY="bob-secret-01234")
        r = as_bob("filter", "why", "alices/visible/big")
        assert r.code == 1 and r.err.startswith("s3d filter: AccessDenied"), r.err
        r = as_alice("filter", "why", "alices/missing")
        assert r.code == 1 and r.err.startswith("s3d filter: NoSuchKey"), r.err
    finally:
        d.stop()
