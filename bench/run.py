"""`make bench`: s3d against moto_server and rclone serve s3, one after another, plus the machine's limits.

python -m bench.run [--quick] [--rounds N] [--duration S] [--transfer-mib N] [--servers s3d,rclone,moto] ...
Prints one table, writes bench/results/latest.json and (full runs) docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench import machine, report
from bench.clients import make_source
from bench.servers import KINDS
from bench.setup import ensure
from bench.workloads import Options, Results, ServerBench

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 s wrk, 64 MiB transfers, 1 round, 50k-key big bucket")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--duration", type=float, help="wrk seconds per run")
    ap.add_argument("--transfer-mib", type=int)
    ap.add_argument("--servers", default="s3d,rclone,moto")
    ap.add_argument("--big-keys", type=int, help="keys in the big listing bucket (default 1,000,000)")
    ap.add_argument("--big-budget", type=float, help="seconds allowed to populate the big bucket, per server")
    ap.add_argument("--no-peers-big", action="store_true", help="big bucket on s3d only")
    ap.add_argument("--no-limits", action="store_true", help="skip the machine-limit measurements")
    ap.add_argument("--max-minutes", type=float, default=75.0, help="the whole run's deadline")
    ap.add_argument("--workdir", default="/var/tmp", help="where data dirs and test files go (a real disk)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.json"))
    ap.add_argument(
        "--docs",
        choices=("auto", "yes", "no"),
        default="auto",
        help="write docs/performance.md (auto: on full runs only)",
    )
    ap.add_argument("--note", default="", help="a sentence for docs/performance.md, e.g. what else ran")
    ap.add_argument("--no-install", action="store_true", help="do not install missing tools")
    return ap.parse_args(argv)


def options(a: argparse.Namespace) -> Options:
    o = Options()
    if a.quick:
        o.rounds, o.duration, o.transfer_size = 1, 2.0, 64 * MiB
        o.put_keys, o.big_keys, o.big_budget, o.peers_big = 2_000, 50_000, 120.0, False
    if a.rounds:
        o.rounds = a.rounds
    if a.duration:
        o.duration = a.duration
    if a.transfer_mib:
        o.transfer_size = a.transfer_mib * MiB
    if a.big_keys:
        o.big_keys = a.big_keys
    if a.big_budget:
        o.big_budget = a.big_budget
    if a.no_peers_big:
        o.peers_big = False
    o.deadline = time.monotonic() + a.max_minutes * 60
    return o


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def limits_round(res: Results, o: Options, workdir: Path, source: Path) -> None:
    machine.loopback(res, max(2.0, min(10.0, o.duration / 2)))
    machine.disk(res, source, workdir, o.transfer_timeout)
    machine.hello(res, o)
    machine.download_ceiling(res, source, workdir, o.transfer_timeout)


class Runner:
    """Starts every server up front (each on its own port and dir) and measures one at a time, rounds
    interleaved (limits, s3d, rclone, moto, limits, s3d, ...), so drifts in the machine's background load
    fall on all of them alike. A server whose step fails is left out of the rest of the run."""

    def __init__(self, names: list[str], o: Options, workdir: Path, source: Path, sha: str) -> None:
        self.o, self.workdir, self.source = o, workdir, source
        self.benches: dict[str, ServerBench] = {}
        self.dead: set[str] = set()
        for name in names:
            say(f"{name}: starting")
            server = KINDS[name](name, workdir)
            self.benches[name] = ServerBench(server, o, workdir, source, sha)
            try:
                server.start()
            except Exception as e:  # noqa: BLE001
                self.fail(name, e)

    def fail(self, name: str, e: BaseException) -> None:
        traceback.print_exc()
        self.dead.add(name)
        self.benches[name].notes.append(f"left out of the rest of the run: {type(e).__name__}: {str(e)[:300]}")

    def each(self, what: str, step) -> None:  # type: ignore[no-untyped-def]
        for name, b in self.benches.items():
            if name in self.dead:
                continue
            say(f"{name}: {what}")
            try:
                step(b)
            except Exception as e:  # noqa: BLE001 - one server failing must not lose the others' figures
                self.fail(name, e)

    def run(self, limits: Results | None) -> None:
        o = self.o
        self.each("setup", lambda b: b.setup())
        self.each(f"populating {o.list_keys} keys", lambda b: b.listing_setup())
        for rnd in range(o.rounds):
            if o.left() < 120:
                for b in self.benches.values():
                    b.notes.append(f"stopped after {rnd} rounds: run deadline")
                break
            if limits is not None:
                say(f"machine limits, round {rnd + 1}/{o.rounds}")
                limits_round(limits, o, self.workdir, self.source)
            self.each(f"round {rnd + 1}/{o.rounds}: GET, PUT, transfers, listing", lambda b, r=rnd: self.round(b, r))
        self.each(f"big bucket ({o.big_keys} keys)", lambda b: b.big_listing(max(3, o.rounds), b.server.name == "s3d"))

    @staticmethod
    def round(b: ServerBench, rnd: int) -> None:
        b.small_get()
        b.small_put()
        b.transfers(rnd)
        b.listing()

    def close(self) -> tuple[dict[str, Results], dict[str, list[str]]]:
        for b in self.benches.values():
            b.close()
            b.server.stop()
            if b.server.watch is not None:
                b.rss()
            b.server.cleanup()
        return {n: b.res for n, b in self.benches.items()}, {n: b.notes for n, b in self.benches.items()}


def machine_line(info: dict[str, Any]) -> str:
    return f"{info['cores']} cores, {info['ram_gib']} GiB RAM, {info['cpu']}"


KEPT_BELOW = "<!-- bench.run writes everything above this line; what follows is kept as written -->"


def write_docs(text: str, data: dict[str, Any]) -> Path:
    """Rewrites the generated part of docs/performance.md; the hand-written sections after KEPT_BELOW stay."""
    path = ROOT / "docs" / "performance.md"
    old = path.read_text() if path.exists() else ""
    kept = old[old.index(KEPT_BELOW) :] if KEPT_BELOW in old else KEPT_BELOW + "\n"
    head = (
        "# Performance\n\n"
        "s3d against two other S3 servers that run on one machine, `rclone serve s3` and `moto_server`, with "
        "the same clients and load generator, and against the machine's own limits measured in the same run. "
        "Produced by `make bench` (the harness is in `bench/`; `make bench BENCH_ARGS=--quick` for a short "
        "run). The raw figures of the last run are in `bench/results/latest.json`.\n\n"
        "How it measures:\n\n"
        "- Each server gets a free loopback port and a fresh data dir. All are started up front and measured "
        "one at a time, rounds interleaved (machine limits, s3d, rclone, moto, then again), so drifts in the "
        "machine's background load fall on all of them alike; the idle servers' CPU shows as \"other\". "
        "s3d runs with its default worker count (one per core).\n"
        "- GET and PUT of 4 KiB objects: `wrk -t2 -c32 --latency` on SigV4 presigned URLs (PUT: a Lua "
        "script cycling over presigned URLs for distinct keys).\n"
        "- Large transfers: the rclone binary (`copyto`, 16 MiB parts, 4 streams, no MD5 pre-pass) and "
        "boto3 `upload_file`/`download_file` (TransferConfig: 16 MiB parts, 4 threads); every download is "
        "checked against the source's SHA-256 outside the timing.\n"
        "- Listings: ListObjectsV2 (1,000 keys a page) through one keep-alive connection with header "
        "SigV4; buckets populated through wrk with one presigned PUT per key.\n"
        "- Peak RSS: the sum of VmHWM over the server's process tree (an upper bound for s3d: forked "
        "workers share pages with their parent).\n"
        "- Machine limits: iperf3 over loopback (one stream), `dd conv=fsync` write and `dd iflag=direct` "
        "read of the same random file, a minimal uvloop+httptools server (as many workers as s3d) under "
        "the same wrk settings as the GET workload, and the download clients' ceiling: the same rclone and "
        "boto3 downloads of the same file from `bench.static`, a uvloop server that answers every GET with a "
        "sendfile of the file and does no S3 work at all.\n\n"
        f"## Last run\n\n{machine_line(data['machine'])}.\n\n"
    )
    if data.get("concurrent_note"):
        head += data["concurrent_note"] + "\n\n"
    path.write_text(head + text.rstrip("\n") + "\n\n" + kept)
    return path


def main(argv: list[str] | None = None) -> int:
    a = parse(sys.argv[1:] if argv is None else argv)
    if not a.no_install:
        ensure()
    o = options(a)
    names = [n.strip() for n in a.servers.split(",") if n.strip()]
    unknown = [n for n in names if n not in KINDS]
    if unknown:
        raise SystemExit(f"unknown servers {unknown}; choose from {list(KINDS)}")
    base = Path(a.workdir)
    base.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="s3d-bench-", dir=base))
    data: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if a.quick else "full",
        "argv": sys.argv[1:] if argv is None else argv,
        "options": {k: v for k, v in vars(o).items() if k != "deadline"},
        "machine": machine.info(workdir),
        "concurrent_note": a.note,
    }
    try:
        say(f"workdir {workdir}; writing a {o.transfer_size // MiB} MiB random source file")
        source = workdir / "source.bin"
        sha = make_source(source, o.transfer_size)
        limits = Results()
        runner = Runner(names, o, workdir, source, sha)
        try:
            runner.run(None if a.no_limits else limits)
        finally:
            servers, extra = runner.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = report.render(data, servers, limits, extra)
    print()
    print(text)
    data["limits"] = {k: s.as_dict() for k, s in limits.items()}
    data["servers"] = {n: {"series": {k: s.as_dict() for k, s in r.items()}, "notes": extra.get(n, [])}
                       for n, r in servers.items()}  # fmt: skip
    data["targets"] = {t.row: {"target": t.text, "verdict": t.verdict(servers, limits)} for t in report.TARGETS}
    data["table"] = text
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")
    say(f"wrote {out}")
    if a.docs == "yes" or (a.docs == "auto" and not a.quick):
        say(f"wrote {write_docs(text, data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
