"""On a terminal, transfers over a few MiB draw a progress bar (on stderr); piped, nothing but the result."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from collections.abc import Callable

from tests.cli.conftest import Cli
from tests.gateway.conftest import Gateway

MiB = 1024 * 1024


def run_on_terminal(cli: Cli, *args: str, meanwhile: Callable[[], None] | None = None) -> tuple[int, bytes]:
    """Run s3d with stdout and stderr on a pseudo-terminal; returns its exit code and everything it drew."""
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "s3d", *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                         cwd=cli.cwd, env=cli.env)  # fmt: skip
    os.close(slave)
    if meanwhile is not None:
        meanwhile()
    out = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(timeout=120), bytes(out)


def test_big_transfers_draw_progress_on_a_terminal(cli: Cli, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(6 * MiB)
    (cli.cwd / "six.bin").write_bytes(data)
    code, shown = run_on_terminal(cli, "put", f"{bucket}/six.bin", "six.bin")
    assert code == 0, shown
    assert f"put {bucket}/six.bin".encode() in shown  # the bar's label
    assert b"\x1b[" in shown  # drawn with terminal escapes
    assert f"put {bucket}/six.bin (6.0 MiB)".encode() in shown
    code, shown = run_on_terminal(cli, "get", f"{bucket}/six.bin", "back.bin")
    assert code == 0, shown
    assert f"get {bucket}/six.bin".encode() in shown and b"\x1b[" in shown
    assert (cli.cwd / "back.bin").read_bytes() == data

    r = cli.ok("put", f"{bucket}/six.bin", "six.bin")  # piped: the result line only
    assert r.out == f"put {bucket}/six.bin (6.0 MiB)\n"


def test_small_transfers_draw_no_bar(cli: Cli, bucket: str) -> None:
    (cli.cwd / "small").write_bytes(b"x" * 1000)
    code, shown = run_on_terminal(cli, "put", f"{bucket}/small", "small")
    assert code == 0
    assert shown == f"put {bucket}/small (1000 B)\r\n".encode()


def test_flush_draws_its_queue_on_a_terminal(gateway_cli: tuple[Cli, Gateway]) -> None:
    """A flush waiting for a remote that comes back: a bar while it waits, then the result; exit 0."""
    cli, gw = gateway_cli
    cli.ok("mb", "queued")
    cli.ok("flush")
    gw.remote.stop()
    for i in range(3):
        cli.ok("put", f"queued/k{i}", input=b"x" * 100)

    def remote_back() -> None:
        time.sleep(1)
        gw.remote.start()

    try:
        code, shown = run_on_terminal(cli, "flush", "--timeout", "60", meanwhile=remote_back)
    finally:
        if gw.remote.proc is None or gw.remote.proc.poll() is not None:
            gw.remote.start()
    assert code == 0, shown
    assert b"flush all buckets" in shown and b"\x1b[" in shown
    assert b"flushed all buckets: everything up to LSN " in shown
