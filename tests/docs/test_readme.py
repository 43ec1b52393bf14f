"""The README's shell examples, run as a newcomer would after `make run` and `make test`.

Every ```sh block of README.md runs in bash (set -e) in a scratch directory that holds a `.venv`
(a link to the one running this test) and the sample files the examples name. The quick-start
block (the two make targets) is what this suite and a daemon started as `make run` starts it stand
for. The blocks before the gateway section run against that daemon; then it is stopped and the
gateway blocks run as written, starting rclone's S3 server and `s3d run --remote` themselves.
Only the loopback ports (9000, 9100) and rclone's /tmp/remote directory are replaced by free ones,
so parallel runs do not collide, and a `--watch` command runs for a few seconds instead of until
Ctrl-C. The gateway section's ports are picked when it starts (minutes after the test began, a port
picked up front may have gone to another test meanwhile), and each start in the background must still
be running once its port answers.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import free_port, wait_http

README = Path(__file__).resolve().parents[2] / "README.md"
VENV = Path(sys.executable).parent.parent
SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
QUICK_START = "make run"
GATEWAY_START = "rclone serve s3"
WATCH = re.compile(r"^(\s*)(s3d status --watch[^#\n]*?)(\s*#.*)?$", re.M)
WATCH_SECONDS = 3
TIMEOUT_EXIT = 124  # what `timeout` exits with when it had to stop the command
SAMPLE_FILES = {
    "cat.jpg": b"\xff\xd8 a cat \xff\xd9",
    "album/one.jpg": b"one",
    "album/two.jpg": b"two",
    "notes.txt": b"notes\n",
}
BLOCK_SECONDS = 180
FRESH_PORT = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"


def blocks() -> list[str]:
    return [b for b in SH_BLOCK.findall(README.read_text()) if QUICK_START not in b]


def phases() -> tuple[list[str], list[str]]:
    """(blocks run against the `make run` daemon, blocks of the gateway section)."""
    all_blocks = blocks()
    start = next(i for i, b in enumerate(all_blocks) if GATEWAY_START in b)
    return all_blocks[:start], all_blocks[start:]


class Scratch:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.remote_dir = root / "remote"
        self.home = root / "home"
        self.home.mkdir()
        (root / ".venv").symlink_to(VENV)
        for name, data in SAMPLE_FILES.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3D_", "RCLONE_"))}
        self.env = {**keep, "HOME": str(self.home), "AWS_EC2_METADATA_DISABLED": "true"}

    def script(self, text: str) -> str:
        """A README block as it runs here: our ports and remote directory, watches bounded, background starts awaited."""
        text = text.replace("127.0.0.1:9000", f"127.0.0.1:{self.port}")
        text = text.replace("127.0.0.1:9100", "127.0.0.1:$REMOTE_PORT").replace("/tmp/remote", str(self.remote_dir))
        text = WATCH.sub(rf"\1timeout {WATCH_SECONDS} \2 || test $? -eq {TIMEOUT_EXIT}", text)
        lines = []
        for line in text.splitlines():
            lines.append(line)
            if line.rstrip().endswith("&"):  # a person typing the next command gives it this long to start
                port = "$REMOTE_PORT" if GATEWAY_START in line else "${S3D_LISTEN##*:}"
                lines.append(f"wait_port {port} $!")
        prelude = (
            "set -ex\n"
            'wait_port() { for _ in $(seq 200); do kill -0 $2 || { echo "what should listen on $1 exited" >&2; '
            "return 1; }; (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; "
            'sleep 0.1; done; echo "nothing listens on $1" >&2; return 1; }\n'
            f"fresh_port() {{ {sys.executable} -c {FRESH_PORT!r}; }}\n"
        )
        return prelude + "\n".join(lines) + "\n"

    def run(self, text: str) -> subprocess.Popen[bytes]:
        # output goes to a file: what the examples start in the background keeps it open after bash exits
        with open(self.output, "wb") as out:
            return subprocess.Popen(
                ["bash", "-c", self.script(text)], cwd=self.root, env={**self.env, "S3D_LISTEN": f"127.0.0.1:{self.port}"},
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    @property
    def output(self) -> Path:
        return self.root / "terminal.log"


def finish(proc: subprocess.Popen[bytes], scratch: Scratch) -> str:
    try:
        proc.wait(timeout=BLOCK_SECONDS)
    except subprocess.TimeoutExpired:
        stop_group(proc)
    text = scratch.output.read_text(errors="replace")
    assert proc.returncode == 0, f"the README examples failed (exit {proc.returncode}):\n{text}"
    return text


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """End everything a block started in the background (its process group)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=30)
            os.killpg(proc.pid, 0)  # anything left in the group (a daemon started with &)?
        except (subprocess.TimeoutExpired, ProcessLookupError):
            if sig == signal.SIGTERM:
                continue
            return


@pytest.fixture
def scratch(tmp_path: Path) -> Scratch:
    return Scratch(tmp_path)


@pytest.fixture
def make_run(scratch: Scratch) -> Iterator[subprocess.Popen[bytes]]:
    """The daemon as `make run` starts it: `.venv/bin/s3d run` in the checkout (here, the scratch directory)."""
    proc = subprocess.Popen(
        [str(scratch.root / ".venv" / "bin" / "s3d"), "run"], cwd=scratch.root,
        env={**scratch.env, "S3D_LISTEN": f"127.0.0.1:{scratch.port}"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    wait_http(f"http://127.0.0.1:{scratch.port}/_s3d/health", proc=proc)
    yield proc
    stop_group(proc)


def test_readme_has_the_blocks_this_test_knows() -> None:
    local, gateway = phases()
    assert local and gateway
    assert any("export PATH" in b for b in local)


def test_readme_examples_work_as_written(scratch: Scratch, make_run: subprocess.Popen[bytes]) -> None:
    local, gateway = phases()
    # one terminal session: the local examples, Ctrl-C on `make run` (its whole process group), the gateway ones
    ctrl_c = (
        f"kill -INT -{make_run.pid}\nwhile (exec 3<>/dev/tcp/127.0.0.1/{scratch.port}) 2>/dev/null; do sleep 0.1; done\n"
        "export S3D_LISTEN=127.0.0.1:$(fresh_port)\nREMOTE_PORT=$(fresh_port)"
    )
    proc = scratch.run("\n".join([*local, ctrl_c, *gateway]))
    try:
        out = finish(proc, scratch)
    finally:
        stop_group(proc)
    assert (scratch.root / "copy.jpg").read_bytes() == SAMPLE_FILES["cat.jpg"], out
    # what the gateway examples wrote reached the remote, and so did what the local ones left in the data dir
    assert (scratch.remote_dir / "drafts" / "plan.txt").read_bytes() == SAMPLE_FILES["notes.txt"], out
    assert (scratch.remote_dir / "backup" / "cat.jpg").read_bytes() == SAMPLE_FILES["cat.jpg"], out
