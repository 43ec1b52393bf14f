"""What a daemon process loads: heavy libraries only where its configuration needs them (RSS is a target)."""

from __future__ import annotations

import subprocess
import sys


def loaded_after_import(module: str, names: list[str]) -> dict[str, bool]:
    code = f"import sys, {module}; print(' '.join(str(n in sys.modules) for n in {names!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return dict(zip(names, (v == "True" for v in out), strict=True))


def test_a_daemon_without_a_remote_does_not_load_botocore() -> None:
    # ~20 MiB in each process; only the gateway (its remote) and a console presign use it
    assert loaded_after_import("s3d.daemon", ["botocore", "boto3"]) == {"botocore": False, "boto3": False}


def test_the_gateway_remote_loads_botocore() -> None:
    assert loaded_after_import("s3d.remote.botocore_remote", ["botocore"]) == {"botocore": True}
