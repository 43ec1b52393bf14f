"""wrk, the one load generator for every server: runs it and reads its summary line."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import tempfile
import time
from pathlib import Path

LUA = Path(__file__).parent / "lua"
STALL = 30.0  # seconds without an answer before a populating wrk is interrupted


def _script(parts: list[str]) -> Path:
    text = "\n".join((LUA / p).read_text() for p in [*parts, "report.lua"])
    f = tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="s3d-bench-", delete=False)
    with f:
        f.write(text)
    return Path(f.name)


def _summary(stdout: str, code: int, stderr: str) -> dict[str, float]:
    line = next((x for x in stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if code != 0 or line is None:
        raise RuntimeError(f"wrk failed ({code}): {stderr.strip()[-500:]} {stdout[-500:]}")
    r = json.loads(line.removeprefix("BENCHJSON "))
    secs = r["duration_us"] / 1e6
    errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return {
        "requests": r["requests"],
        "seconds": round(secs, 3),
        "ops": round(r["requests"] / secs, 1) if secs else 0.0,
        "p50_ms": r["p50_us"] / 1000,
        "p90_ms": r["p90_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "max_ms": r["max_us"] / 1000,
        "non2xx": r["status"],
        "socket_errors": errors,
    }


def wrk(
    url: str,
    *,
    threads: int = 2,
    connections: int = 32,
    duration: float = 15.0,
    parts: tuple[str, ...] = (),
    args: tuple[str, ...] = (),
    timeout_s: float = 10.0,
) -> dict[str, float]:
    """Run `wrk --latency` against url; returns requests, ops/s, latency percentiles (ms) and error counts."""
    script = _script(list(parts))
    try:
        cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency", f"--timeout={timeout_s:g}s",
               "-s", str(script), url, *args]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    finally:
        script.unlink(missing_ok=True)
    return _summary(out.stdout, out.returncode, out.stderr)


def wrk_once(url: str, *, threads: int, connections: int, budget: float, args: tuple[str, ...]) -> dict[str, float]:
    """One pass of put.lua+once.lua: wrk is interrupted as soon as every thread has had all its answers
    (wrk itself would sleep out its whole -d), or when the budget runs out. Adds "ok": 2xx answers."""
    script = _script(["put.lua", "once.lua"])
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, int(budget))}s", "--timeout=30s", "-s", str(script),
           url, *args]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    out, done, interrupted = b"", 0, False
    deadline = time.monotonic() + budget + 60
    last = time.monotonic()
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if not ready:
                if not interrupted and time.monotonic() - last > STALL:
                    proc.send_signal(signal.SIGINT)  # some request was lost: wrap up with what was answered
                    interrupted = True
                continue
            chunk = proc.stdout.read1(65536)  # type: ignore[attr-defined]
            if chunk:
                last = time.monotonic()
            out += chunk
            done = out.count(b"THREADDONE")
            if done >= threads and not interrupted:
                proc.send_signal(signal.SIGINT)
                interrupted = True
        rest, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        rest, err = proc.communicate()
    finally:
        script.unlink(missing_ok=True)
    text = (out + rest).decode(errors="replace")
    r = _summary(text, proc.returncode, err.decode(errors="replace"))
    ok = sum(int(x.split()[1]) for x in text.splitlines() if x.startswith("THREADDONE "))
    r["ok"] = ok if done >= threads else max(0, int(r["requests"] - r["non2xx"]))
    return r
