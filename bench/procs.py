"""/proc readings: CPU of a process tree, of this harness and its clients, and of the machine; peak RSS."""

from __future__ import annotations

import os
import resource
import threading
import time
from dataclasses import dataclass, field

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        ppid = int(raw[raw.rindex(b")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def proc_cpu(pid: int) -> float:
    """utime+stime of one process, seconds (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def vm_hwm(pid: int) -> int:
    """Peak resident set size of one process, bytes (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def machine_busy() -> float:
    """Non-idle CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in parts[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


def self_and_children_cpu() -> float:
    """CPU seconds of this harness (the in-process clients) and of every client subprocess it reaped."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


@dataclass
class TreeWatch:
    """Follows a server's process tree in the background: per-pid CPU and VmHWM, kept after pids exit."""

    pid: int
    interval: float = 0.25
    cpu: dict[int, float] = field(default_factory=dict)
    hwm: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sample(self) -> None:
        for p in tree(self.pid):
            c, h = proc_cpu(p), vm_hwm(p)
            with self._lock:
                if c:
                    self.cpu[p] = max(c, self.cpu.get(p, 0.0))
                if h:
                    self.hwm[p] = max(h, self.hwm.get(p, 0))

    def start(self) -> TreeWatch:
        def loop() -> None:
            while not self._stop.wait(self.interval):
                self.sample()

        self.sample()
        self._thread = threading.Thread(target=loop, name=f"watch-{self.pid}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.sample()
        self._stop.set()
        if self._thread:
            self._thread.join()

    def cpu_total(self) -> float:
        self.sample()
        with self._lock:
            return sum(self.cpu.values())

    def peak_rss(self) -> dict[str, int]:
        """Sum of the per-process VmHWM over the tree (an upper bound: forked workers share pages)."""
        with self._lock:
            return {"sum_hwm": sum(self.hwm.values()), "max_hwm": max(self.hwm.values(), default=0),
                    "processes": len(self.hwm)}  # fmt: skip


@dataclass
class Cpu:
    server: float
    client: float
    other: float
    wall: float

    def as_dict(self) -> dict[str, float]:
        return {"server": round(self.server, 3), "client": round(self.client, 3), "other": round(self.other, 3),
                "wall": round(self.wall, 3)}  # fmt: skip


class CpuMeter:
    """CPU seconds used between start and stop by the server tree, the client(s) and the rest of the machine.

    The client is this harness process (boto3 and the listing client run in-process) plus every
    client subprocess it waited for in between (wrk, rclone, dd, iperf3 client): RUSAGE_CHILDREN.
    Servers are reaped only when stopped, so they never land in it.
    """

    def __init__(self, watch: TreeWatch | None) -> None:
        self.watch = watch

    def __enter__(self) -> CpuMeter:
        self.t0 = time.monotonic()
        self.s0 = self.watch.cpu_total() if self.watch else 0.0
        self.c0 = self_and_children_cpu()
        self.m0 = machine_busy()
        return self

    def __exit__(self, *exc: object) -> None:
        s1 = self.watch.cpu_total() if self.watch else 0.0
        c1, m1 = self_and_children_cpu(), machine_busy()
        server, client = s1 - self.s0, c1 - self.c0
        self.cpu = Cpu(server, client, max(0.0, (m1 - self.m0) - server - client), time.monotonic() - self.t0)
