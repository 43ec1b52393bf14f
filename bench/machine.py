"""The machine's own limits, measured in the same run: loopback TCP, disk, and the Python HTTP ceiling."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import clients
from bench.loadgen import wrk
from bench.procs import Cpu, CpuMeter, TreeWatch
from bench.servers import Static, free_port
from bench.workloads import Options, Results

MiB = 1024 * 1024


def info(workdir: Path) -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    df = subprocess.run(["df", "-hT", str(workdir)], capture_output=True, text=True).stdout.splitlines()[-1].split()
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "disk": f"{df[0]} ({df[1]})" if len(df) > 1 else "",
        "wrk": _version(["wrk", "-v"]),
        "iperf3": _version(["iperf3", "--version"]),
    }


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "missing"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else ""


def loopback(res: Results, seconds: float) -> None:
    """Single-stream loopback TCP bandwidth, iperf3."""
    port = free_port()
    srv = subprocess.Popen(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(0.3)
        watch = TreeWatch(srv.pid).start()
        with CpuMeter(watch) as m:
            out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", f"{seconds:g}", "-J"],
                                 capture_output=True, text=True, timeout=seconds + 30)  # fmt: skip
        watch.stop()
        bps = json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"]
        res.series("loopback", "MiB/s", "higher").add(bps / 8 / MiB, m.cpu)
    finally:
        if srv.poll() is None:
            srv.kill()
        srv.wait()


def _dd(args: list[str], timeout: float) -> tuple[float, int]:
    out = subprocess.run(["dd", *args], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"dd failed: {out.stderr.strip()[-300:]}")
    m = re.search(r"^(\d+) bytes.*copied, ([\d.,]+) s", out.stderr, re.M)
    if not m:
        raise RuntimeError(f"unexpected dd output: {out.stderr.strip()[-300:]}")
    return float(m.group(2).replace(",", ".")), int(m.group(1))


def disk(res: Results, source: Path, workdir: Path, timeout: float) -> None:
    """Write the random source file to disk with dd conv=fsync, then read it back with iflag=direct."""
    target = workdir / "dd-test.bin"
    try:
        with CpuMeter(None) as m:
            secs, n = _dd([f"if={source}", f"of={target}", "bs=4M", "conv=fsync"], timeout)
        res.series("disk.write_fsync", "MiB/s", "higher").add(n / MiB / secs, m.cpu)
        with CpuMeter(None) as m:
            secs, n = _dd([f"if={target}", "of=/dev/null", "bs=4M", "iflag=direct"], timeout)
        res.series("disk.read_direct", "MiB/s", "higher").add(n / MiB / secs, m.cpu)
    finally:
        target.unlink(missing_ok=True)


def hello(res: Results, opts: Options) -> None:
    """The minimal uvloop+httptools server (as many workers as s3d), measured with the GET wrk settings."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent.parent))
    proc = subprocess.Popen([sys.executable, "-m", "bench.hello", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        from bench.servers import wait_http

        wait_http(f"http://127.0.0.1:{port}/", proc)
        watch = TreeWatch(proc.pid).start()
        with CpuMeter(watch) as m:
            r = wrk(f"http://127.0.0.1:{port}/hello", threads=opts.threads, connections=opts.connections,
                    duration=opts.duration)  # fmt: skip
        watch.stop()
        res.series("hello.ops", "ops/s", "higher").add(r["ops"], m.cpu)
        res.series("hello.p50", "ms", "lower").add(r["p50_ms"], m.cpu)
        res.series("hello.p99", "ms", "lower").add(r["p99_ms"], m.cpu)
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def download_ceiling(res: Results, source: Path, workdir: Path, timeout: float) -> None:
    """The download clients against bench.static (sendfile of the source, no S3 work at all): the most each client
    can download here, the ceiling of s3d's download figures."""
    server = Static("static", workdir, file=source).start()
    dst = workdir / "ceiling.bin"
    size_mib = source.stat().st_size / MiB
    want = clients.sha256_file(source)

    def checked(name: str, secs: float, cpu: Cpu) -> None:
        if clients.sha256_file(dst) != want:
            raise RuntimeError(f"{name}: the download does not match its source (SHA-256)")
        res.series(name, "MiB/s", "higher").add(size_mib / secs, cpu)

    try:
        with CpuMeter(server.watch) as m:
            t0 = time.perf_counter()
            clients.rclone_download(server, workdir, "bench", "ceiling", dst, timeout)
            secs = time.perf_counter() - t0
        checked("ceiling.down.rclone", secs, m.cpu)
        with CpuMeter(server.watch) as m:
            secs = clients.boto3_transfer(server, "down", "bench", "ceiling", dst, timeout)
        checked("ceiling.down.boto3", secs, m.cpu)
    finally:
        dst.unlink(missing_ok=True)
        server.stop()
        server.cleanup()
