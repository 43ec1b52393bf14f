"""Help, usage errors (exit 2), finding the daemon and its credentials, and a daemon that is not there."""

from __future__ import annotations

import argparse
import json
import os
import pty
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from s3d.cli import parser
from tests.cli.conftest import Cli, clean_env, cli_for
from tests.support.server import S3dProcess, free_port

COMMANDS = ["run", "credentials", "rotate-key", "status", "flush", "ls", "put", "get", "cp", "rm", "tag", "mb", "rb",
            "prefetch", "pin", "filter", "speedtest", "mount", "umount", "sync", "drives", "scrub", "drive", "help"]  # fmt: skip


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_help_lists_every_command(tmp_path: Path) -> None:
    for args in (["help"], ["--help"], []):
        r = Cli(tmp_path)(*args)
        assert r.code == 0
        listed = [line.split()[0] for line in r.out.splitlines() if line.startswith("    ") and line[4] != " "]
        assert listed == COMMANDS, r.out


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "help"])
def test_command_help_documents_every_flag(tmp_path: Path, command: str) -> None:
    sub = _subparsers()[command]
    flags = [s for a in sub._actions for s in a.option_strings]
    assert "--help" in flags
    for args in ([command, "--help"], ["help", command]):
        r = Cli(tmp_path)(*args)
        assert r.code == 0, r.err
        assert r.out.startswith(f"usage: s3d {command} ")
        for flag in flags:
            assert flag in r.out, f"{flag} missing from `s3d {' '.join(args)}`"
        for a in sub._actions:
            assert a.help, f"s3d {command}: {a.option_strings or a.dest} has no help text"


def test_client_commands_share_the_daemon_flags() -> None:
    subs = _subparsers()
    for name in ("status", "flush", "ls", "put", "get", "cp", "rm", "tag", "mb", "rb", "prefetch", "pin", "speedtest"):
        flags = {s for a in subs[name]._actions for s in a.option_strings}
        assert {"--endpoint", "--data", "--config"} <= flags, name


@pytest.mark.parametrize(
    "args, message",
    [
        (["frobnicate"], "invalid choice"),
        (["help", "frobnicate"], "no command 'frobnicate'"),
        (["put"], "the following arguments are required"),
        (["get", "bucket-only"], "names no object"),
        (["get", "/key"], "names no bucket"),
        (["rm", "bucket/prefix/"], "add -r"),
        (["rm", "bucket"], "add -r"),
        (["put", "b/k", "--tag", "novalue"], "expected KEY=VALUE"),
        (["tag", "b/k", "novalue"], "expected K=V"),
        (["mb", "b/k"], "not a bucket name"),
        (["speedtest", "--sizes", "4Q"], "not a size"),
        (["speedtest", "--count", "0"], "must be positive"),
        (["status", "--interval", "0"], "--interval must be positive"),
        (["flush", "--timeout", "-1"], "--timeout must be positive"),
        (["flush", "--timeout", "nan"], "--timeout must be positive and at most 3600 seconds"),
        (["flush", "--timeout", "3601"], "--timeout must be positive and at most 3600 seconds"),
        (["status", "--endpoint", "ftp://127.0.0.1:1"], "http(s) URL"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, args: list[str], message: str) -> None:
    r = cli(*args)
    assert r.code == 2, r
    assert message in r.err
    assert r.stdout == b""


def test_cp_between_two_local_paths_is_a_usage_error(cli: Cli) -> None:
    (cli.cwd / "a").write_bytes(b"x")
    (cli.cwd / "b").write_bytes(b"y")
    r = cli("cp", "a", "b")
    assert r.code == 2
    assert "one side of cp must be bucket/key" in r.err


def test_put_from_a_terminal_stdin_is_a_usage_error(cli: Cli) -> None:
    master, slave = pty.openpty()
    try:
        p = subprocess.run([sys.executable, "-m", "s3d", "put", "b/k"], stdin=slave, capture_output=True, env=cli.env,
                           cwd=cli.cwd, timeout=60)  # fmt: skip
    finally:
        os.close(master)
        os.close(slave)
    assert p.returncode == 2
    assert b"pipe the data on stdin" in p.stderr


@pytest.mark.parametrize("command", [["status"], ["ls"], ["ls", "b/p/"], ["put", "b/k", "-"], ["flush"], ["speedtest"]])
def test_no_daemon_is_one_clear_line(tmp_path: Path, command: list[str]) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    c = Cli(tmp_path)
    c.env.update({"S3D_ENDPOINT": endpoint, "S3D_ACCESS_KEY": "AK", "S3D_SECRET_KEY": "SK"})
    r = c(*command, input=b"data")
    assert r.code == 1
    assert r.err == f"no s3d at {endpoint}: start it with `s3d run`\n"
    assert r.stdout == b""


def test_no_daemon_and_no_credentials_says_no_daemon(tmp_path: Path) -> None:
    """With nothing configured, the default endpoint; a missing daemon matters more than missing keys."""
    port = free_port()
    r = Cli(tmp_path)("status", "--endpoint", f"127.0.0.1:{port}")
    assert (r.code, r.err) == (1, f"no s3d at http://127.0.0.1:{port}: start it with `s3d run`\n")


def test_default_endpoint_is_the_local_address(tmp_path: Path) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 9000)) == 0:
            pytest.skip("something listens on 127.0.0.1:9000 on this machine")
    r = Cli(tmp_path)("ls", env={"S3D_ACCESS_KEY": "AK", "S3D_SECRET_KEY": "SK"})
    assert r.code == 1
    assert r.err == "no s3d at http://127.0.0.1:9000: start it with `s3d run`\n"


def test_endpoint_follows_the_listen_setting(server: S3dProcess, tmp_path: Path) -> None:
    env = {
        "S3D_LISTEN": f"0.0.0.0:{server.port}",
        "S3D_ACCESS_KEY": server.access_key,
        "S3D_SECRET_KEY": server.secret_key,
    }
    r = Cli(tmp_path)("status", "--json", env=env)
    assert r.code == 0, r.err
    assert "lsn" in json.loads(r.out)


def test_credentials_from_the_data_dir(server: S3dProcess, tmp_path: Path) -> None:
    """No S3D_ACCESS_KEY: the key pair comes from --data DIR/credentials.json (or S3D_DATA)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "credentials.json").write_text(
        json.dumps({"access_key": server.access_key, "secret_key": server.secret_key})
    )
    c = Cli(tmp_path)
    assert c("status", "--endpoint", server.endpoint, "--data", str(data)).code == 0
    assert c("ls", "--endpoint", server.endpoint, env={"S3D_DATA": str(data)}).code == 0
    (data / "credentials.json").write_text(json.dumps({"access_key": server.access_key, "secret_key": "wrong"}))
    r = c("ls", "--endpoint", server.endpoint, "--data", str(data))
    assert r.code == 1
    assert r.err.startswith("s3d ls: SignatureDoesNotMatch: ")
    assert "S3D_ACCESS_KEY" in r.err


def test_credentials_from_a_config_file(server: S3dProcess, tmp_path: Path) -> None:
    cfg = tmp_path / "s3d.toml"
    cfg.write_text(f'listen = "127.0.0.1:{server.port}"\n[[users]]\nname = "t"\naccess_key = "{server.access_key}"\n'
                   f'secret_key = "{server.secret_key}"\n')  # fmt: skip
    r = Cli(tmp_path)("status", "--json", "--config", str(cfg))
    assert r.code == 0, r.err


def test_no_credentials_with_a_daemon_running(server: S3dProcess, tmp_path: Path) -> None:
    r = Cli(tmp_path)("ls", "--endpoint", server.endpoint, "--data", str(tmp_path / "nowhere"))
    assert r.code == 2
    assert "no credentials for the daemon" in r.err
    assert str(tmp_path / "nowhere" / "credentials.json") in r.err


def test_wrong_key_names_the_s3_error(server: S3dProcess, tmp_path: Path) -> None:
    c = cli_for(server, tmp_path)
    r = c("ls", env={"S3D_ACCESS_KEY": "NOSUCHKEY"})
    assert r.code == 1
    assert r.err.startswith("s3d ls: InvalidAccessKeyId: ")
    r = c("status", env={"S3D_ACCESS_KEY": "NOSUCHKEY"})
    assert r.code == 1
    assert r.err.startswith("s3d status: InvalidAccessKeyId: ")


def test_python_m_and_console_script_are_the_same_program(tmp_path: Path) -> None:
    script = shutil.which("s3d", path=str(Path(sys.executable).parent))
    assert script is not None
    a = subprocess.run([script, "help"], capture_output=True, env=clean_env(), timeout=60)
    b = Cli(tmp_path)("help")
    assert a.returncode == b.code == 0
    assert a.stdout == b.stdout
