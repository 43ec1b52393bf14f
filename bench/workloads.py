"""The workloads, run the same way against every server: small GET/PUT, large transfers, listings."""

from __future__ import annotations

import json
import statistics
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import clients
from bench.loadgen import wrk, wrk_once
from bench.procs import Cpu, CpuMeter
from bench.servers import Server
from bench.sigv4 import Signer

MiB = 1024 * 1024
SMALL = 4096
LIST_BODY = 16  # bytes per object in the listing buckets


def key_name(i: int) -> str:
    return f"k{i:07d}"


@dataclass
class Options:
    rounds: int = 3
    duration: float = 15.0  # wrk seconds
    threads: int = 2
    connections: int = 32
    transfer_size: int = 1024 * MiB
    put_keys: int = 10_000  # distinct keys the PUT workload cycles over
    list_keys: int = 10_000
    big_keys: int = 1_000_000
    big_budget: float = 900.0  # seconds to populate the big bucket, per server
    peers_big: bool = True  # try the big bucket on the peers too, when projected to fit the budget
    transfer_timeout: float = 600.0
    deadline: float = float("inf")  # time.monotonic() after which remaining work is skipped

    def left(self) -> float:
        return self.deadline - time.monotonic()


@dataclass
class Series:
    """One metric over the rounds, with the CPU split of each round."""

    unit: str
    better: str  # "higher" or "lower"
    values: list[float] = field(default_factory=list)
    cpus: list[Cpu] = field(default_factory=list)
    note: str = ""

    def add(self, value: float, cpu: Cpu | None = None) -> None:
        self.values.append(value)
        if cpu is not None:
            self.cpus.append(cpu)

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def cpu_median(self) -> dict[str, float] | None:
        """Average cores busy (CPU seconds / wall seconds) per party, median over the rounds."""
        if not self.cpus:
            return None
        out = {}
        for k in ("server", "client", "other"):
            out[k] = round(statistics.median(getattr(c, k) / c.wall for c in self.cpus if c.wall > 0), 2)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "better": self.better, "median": self.median, "rounds": self.values,
                "cpu_cores": self.cpu_median(), "cpu_rounds": [c.as_dict() for c in self.cpus],
                "note": self.note}  # fmt: skip


class Results(dict[str, Series]):
    def series(self, name: str, unit: str, better: str) -> Series:
        if name not in self:
            self[name] = Series(unit, better)
        return self[name]

    def note(self, name: str, unit: str, better: str, text: str) -> None:
        s = self.series(name, unit, better)
        s.note = (s.note + "; " if s.note else "") + text


def wrk_into(res: Results, prefix: str, r: dict[str, float], cpu: Cpu) -> None:
    res.series(f"{prefix}.ops", "ops/s", "higher").add(r["ops"], cpu)
    res.series(f"{prefix}.p50", "ms", "lower").add(r["p50_ms"], cpu)
    res.series(f"{prefix}.p99", "ms", "lower").add(r["p99_ms"], cpu)
    bad = r["non2xx"] + r["socket_errors"]
    if bad:
        res.note(f"{prefix}.ops", "ops/s", "higher", f"{bad} errors of {r['requests']} requests in a round")


class ServerBench:
    """All the workloads against one running server."""

    BUCKET = "bench"
    LIST = "list10k"
    BIG = "list1m"

    def __init__(self, server: Server, opts: Options, workdir: Path, source: Path, source_sha: str) -> None:
        self.server, self.opts, self.workdir = server, opts, workdir
        self.source, self.source_sha = source, source_sha
        self._raw: clients.Raw | None = None
        self.res = Results()
        self.notes: list[str] = []
        self.populate_rate: float | None = None

    @property
    def raw(self) -> clients.Raw:
        assert self._raw is not None, "setup() first"
        return self._raw

    def meter(self) -> CpuMeter:
        return CpuMeter(self.server.watch)

    def url(self, path_query: str) -> str:
        return self.server.endpoint + path_query

    # -- setup -----------------------------------------------------------------------------------------
    def setup(self) -> None:
        """Once the server is up: the signer, the listing client, the buckets, the presigned URLs."""
        self.signer = Signer(self.server.host, self.server.access_key, self.server.secret_key)
        self._raw = clients.Raw(self.server)
        for b in (self.BUCKET, self.LIST):
            self.raw.create_bucket(b)
        self.raw.put(self.BUCKET, "obj4k", b"g" * SMALL)
        self.get_url = self.url(self.signer.presign("GET", f"/{self.BUCKET}/obj4k"))
        self.put_list = self.workdir / f"{self.server.name}-put-urls.txt"
        paths = [f"/{self.BUCKET}/put/{i:07d}" for i in range(self.opts.put_keys)]
        self.put_list.write_text("\n".join(self.signer.presign_many("PUT", paths)) + "\n")

    # -- 1 and 2: small objects ------------------------------------------------------------------------
    def small_get(self) -> None:
        o = self.opts
        with self.meter() as m:
            r = wrk(self.get_url, threads=o.threads, connections=o.connections, duration=o.duration)
        wrk_into(self.res, "get", r, m.cpu)

    def small_put(self) -> None:
        o = self.opts
        with self.meter() as m:
            r = wrk(self.url(f"/{self.BUCKET}/"), threads=o.threads, connections=o.connections, duration=o.duration,
                    parts=("put.lua",), args=(str(self.put_list), str(SMALL), str(o.threads)))  # fmt: skip
        wrk_into(self.res, "put", r, m.cpu)

    # -- 3: large transfers ----------------------------------------------------------------------------
    def transfers(self, rnd: int) -> None:
        size_mib = self.opts.transfer_size / MiB
        dst = self.workdir / "download.bin"
        for client in ("rclone", "boto3"):
            key = f"large-{client}-{rnd}"
            for direction in ("up", "down"):
                name = f"{direction}.{client}"
                if self.opts.left() < 60:
                    self.res.note(name, "MiB/s", "higher", "skipped: run deadline")
                    continue
                try:
                    with self.meter() as m:
                        secs = self._transfer(client, direction, key, dst)
                    if direction == "down":
                        if clients.sha256_file(dst) != self.source_sha:
                            raise RuntimeError("downloaded data does not match (SHA-256)")
                    self.res.series(name, "MiB/s", "higher").add(size_mib / secs, m.cpu)
                except Exception as e:  # noqa: BLE001 - a failure is a result, the run goes on
                    self.res.note(name, "MiB/s", "higher", f"round {rnd + 1} failed: {str(e)[:200]}")
                    if direction == "up":
                        self.res.note(f"down.{client}", "MiB/s", "higher", f"round {rnd + 1}: no upload")
                        break
            dst.unlink(missing_ok=True)
            self._delete(key)

    def _transfer(self, client: str, direction: str, key: str, dst: Path) -> float:
        timeout = min(self.opts.transfer_timeout, max(30.0, self.opts.left()))
        if client == "boto3":
            path = self.source if direction == "up" else dst
            return clients.boto3_transfer(self.server, direction, self.BUCKET, key, path, timeout)
        t0 = time.perf_counter()
        if direction == "up":
            clients.rclone_upload(self.server, self.workdir, self.source, self.BUCKET, key, timeout)
        else:
            clients.rclone_download(self.server, self.workdir, self.BUCKET, key, dst, timeout)
        return time.perf_counter() - t0

    def _delete(self, key: str) -> None:
        try:
            self.raw.request("DELETE", f"/{self.BUCKET}/{key}")
        except Exception:  # noqa: BLE001 - only frees space
            pass

    # -- 4: listings -----------------------------------------------------------------------------------
    def populate(self, bucket: str, first: int, count: int, budget: float) -> tuple[int, float]:
        """PUT `count` small objects with wrk (one pass over presigned URLs); returns (answered OK, seconds)."""
        urls = self.workdir / f"{self.server.name}-populate.txt"
        paths = [f"/{bucket}/{key_name(i)}" for i in range(first, first + count)]
        urls.write_text("\n".join(self.signer.presign_many("PUT", paths)) + "\n")
        t0 = time.monotonic()
        r = wrk_once(self.url(f"/{bucket}/"), threads=self.opts.threads, connections=self.opts.connections,
                     budget=budget, args=(str(urls), str(LIST_BODY), str(self.opts.threads)))  # fmt: skip
        urls.unlink()
        self.last_populate = r
        return min(count, int(r["ok"])), time.monotonic() - t0

    def listing_setup(self) -> None:
        n = self.opts.list_keys
        budget = min(600.0, self.opts.left() - 60)
        ok, secs = self.populate(self.LIST, 0, n, budget)
        self.populate_rate = ok / secs if secs else None
        self.notes.append(f"{self.LIST}: {ok} keys PUT in {secs:.1f} s ({ok / secs:.0f} PUT/s) with wrk "
                          f"-t{self.opts.threads} -c{self.opts.connections}, {LIST_BODY}-byte bodies")  # fmt: skip
        names: list[str] = []
        self.raw.list_all(self.LIST, names)
        missing = sorted(set(map(key_name, range(n))) - set(names))
        for k in missing[:1000]:
            self.raw.put(self.LIST, k, b"r" * LIST_BODY)
        if missing:
            self.notes.append(
                f"{self.LIST}: {len(missing)} keys missing after populating, {min(len(missing), 1000)} re-PUT"
            )
        keys, _ = self.raw.list_all(self.LIST)
        if keys != n:
            self.res.note("list10k.all", "s", "lower", f"bucket holds {keys} keys, not {n}")

    def listing(self) -> None:
        with self.meter() as m:
            t0 = time.perf_counter()
            keys, pages = self.raw.list_all(self.LIST)
            secs = time.perf_counter() - t0
        self.res.series("list10k.all", "s", "lower").add(secs, m.cpu)
        with self.meter() as m:
            first = self._first_page(self.LIST)
        self.res.series("list10k.first", "ms", "lower").add(first * 1000, m.cpu)

    def _first_page(self, bucket: str, tries: int = 5) -> float:
        times = []
        for _ in range(tries):
            t0 = time.perf_counter()
            self.raw.list_page(bucket)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    def big_listing(self, rounds: int, is_s3d: bool) -> None:
        """First page of a big bucket. s3d fills it for up to the budget; a peer is given up as soon as its
        PUT rate (at 10k keys, then of each 10k-key chunk) projects past the budget."""
        o, name = self.opts, "list1m.first"
        target = o.big_keys
        budget = min(o.big_budget, o.left() - 120)
        if not is_s3d and not o.peers_big:
            self.res.note(name, "ms", "lower", "not tried on the peers (--quick or --no-peers-big)")
            return
        if budget < 30:
            self.res.note(name, "ms", "lower", "skipped: run deadline")
            return
        rate = self.populate_rate or 0.0
        projected = target / rate if rate else float("inf")
        if not is_s3d and projected > budget:
            self.res.note(name, "ms", "lower", f"skipped: {target} keys would take ~{projected:.0f} s at its "
                          f"10k-bucket PUT rate ({rate:.0f}/s), over the {budget:.0f} s budget")  # fmt: skip
            return
        self.raw.create_bucket(self.BIG)
        done, t0, chunk = 0, time.monotonic(), 100_000 if is_s3d else 10_000
        while done < target:
            left = budget - (time.monotonic() - t0)
            if left < 5:
                break
            ok, secs = self.populate(self.BIG, done, min(chunk, target - done), left)
            done += ok
            if ok == 0:
                break
            rate = ok / secs
            projected = time.monotonic() - t0 + (target - done) / rate
            if not is_s3d and projected > budget:
                break
        secs = time.monotonic() - t0
        have = self._count(self.BIG, done)
        self.notes.append(f"{self.BIG}: {have} keys PUT in {secs:.0f} s ({have / secs:.0f} PUT/s, the last "
                          f"chunk at {rate:.0f}/s) with wrk, {LIST_BODY}-byte bodies")  # fmt: skip
        if have < target and not is_s3d:
            self.res.note(name, "ms", "lower", f"gave up after {have} keys in {secs:.0f} s: at {rate:.0f} PUT/s the "
                          f"bucket would take ~{projected:.0f} s, over the {budget:.0f} s budget")  # fmt: skip
            return
        if have < target:
            self.res.note(name, "ms", "lower", f"only {have} of {target} keys in the {budget:.0f} s budget")
        s = self.res.series(name, "ms", "lower")
        try:
            for _ in range(rounds):
                with self.meter() as m:
                    v = self._first_page(self.BIG)
                s.add(v * 1000, m.cpu)
        except Exception as e:  # noqa: BLE001 - a failure is a result
            self.res.note(name, "ms", "lower", f"listing failed: {type(e).__name__}: {str(e)[:200]}")

    def _count(self, bucket: str, estimate: int) -> int:
        """Objects in a bucket from s3d's status endpoint; the populate estimate for the peers."""
        try:
            target, headers = self.signer.headers("GET", "/_s3d/status")
            req = urllib.request.Request(self.url(target), headers=headers)
            with urllib.request.urlopen(req, timeout=60) as r:
                status = json.load(r)
            return next(int(b["objects"]) for b in status["buckets"] if b["name"] == bucket)
        except Exception:  # noqa: BLE001 - not s3d: trust wrk's count of 2xx answers
            return estimate

    def rss(self) -> None:
        assert self.server.watch is not None
        p = self.server.watch.peak_rss()
        s = self.res.series("rss.peak", "MiB", "lower")
        s.add(p["sum_hwm"] / MiB)
        s.note = f"sum of VmHWM over {p['processes']} processes; largest single process {p['max_hwm'] / MiB:.0f} MiB"

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
