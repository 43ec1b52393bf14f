"""The table: absolute medians per server with the CPU split, s3d's ratio to each peer, the issue's targets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.workloads import Results

PEERS = ("rclone", "moto")

# (series, label) in table order
ROWS = [
    ("get.ops", "GET 4 KiB, presigned (wrk)"),
    ("get.p50", "GET 4 KiB p50"),
    ("get.p99", "GET 4 KiB p99"),
    ("put.ops", "PUT 4 KiB, presigned (wrk)"),
    ("put.p50", "PUT 4 KiB p50"),
    ("put.p99", "PUT 4 KiB p99"),
    ("up.rclone", "upload, rclone client"),
    ("down.rclone", "download, rclone client"),
    ("up.boto3", "upload, boto3 TransferConfig"),
    ("down.boto3", "download, boto3 TransferConfig"),
    ("list10k.all", "ListObjectsV2 10k keys, all pages"),
    ("list10k.first", "ListObjectsV2 10k keys, first page"),
    ("list1m.first", "ListObjectsV2 {big} keys, first page"),
    ("rss.peak", "peak RSS, server process tree"),
]

LIMIT_ROWS = [
    ("loopback", "loopback TCP, iperf3 one stream"),
    ("disk.write_fsync", "disk write, dd conv=fsync"),
    ("disk.read_direct", "disk read, dd iflag=direct"),
    ("hello.ops", "uvloop+httptools hello, 4 KiB GET (wrk)"),
    ("hello.p50", "hello p50"),
    ("hello.p99", "hello p99"),
    ("ceiling.down.rclone", "download ceiling, rclone client from bench.static (sendfile, no S3 work)"),
    ("ceiling.down.boto3", "download ceiling, boto3 TransferConfig from bench.static"),
]


def fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "–"
    if unit == "ms" or unit == "s":
        return f"{v:.3g} {unit}" if v < 100 else f"{v:,.0f} {unit}"
    if v >= 100:
        return f"{v:,.0f} {unit}"
    return f"{v:.3g} {unit}"


def cell(res: Results | None, name: str, with_cpu: bool = True) -> str:
    if res is None or name not in res:
        return "–"
    s = res[name]
    out = fmt(s.median, s.unit)
    cpu = s.cpu_median()
    if with_cpu and cpu and s.median is not None:
        out += f" ({cpu['server']:.2f}/{cpu['client']:.2f}/{cpu['other']:.2f})"
    return out


def median(res: Results | None, name: str) -> float | None:
    if res is None or name not in res:
        return None
    return res[name].median


@dataclass
class Target:
    row: str
    text: str
    check: Callable[[dict[str, Results], Results], bool | None]

    def verdict(self, servers: dict[str, Results], limits: Results) -> str:
        try:
            ok = self.check(servers, limits)
        except (TypeError, ZeroDivisionError, KeyError):
            ok = None
        return "n/a" if ok is None else ("met" if ok else "**missed**")


def _m(servers: dict[str, Results], server: str, name: str) -> float | None:
    return median(servers.get(server), name)


def _ratio_at_least(name: str, peer: str, k: float) -> Callable[[dict[str, Results], Results], bool | None]:
    def check(sv: dict[str, Results], _l: Results) -> bool | None:
        a, b = _m(sv, "s3d", name), _m(sv, peer, name)
        return None if a is None or b is None else a >= k * b

    return check


def _all(*checks: Callable[[dict[str, Results], Results], bool | None]):  # type: ignore[no-untyped-def]
    def check(sv: dict[str, Results], lim: Results) -> bool | None:
        vals = [c(sv, lim) for c in checks]
        if any(v is False for v in vals):
            return False
        return None if any(v is None for v in vals) else True

    return check


def _at_most_peer(name: str, peer: str) -> Callable[[dict[str, Results], Results], bool | None]:
    def check(sv: dict[str, Results], _l: Results) -> bool | None:
        a, b = _m(sv, "s3d", name), _m(sv, peer, name)
        return None if a is None or b is None else a <= b

    return check


def _vs_limit(name: str, limit: str, k: float) -> Callable[[dict[str, Results], Results], bool | None]:
    def check(sv: dict[str, Results], lim: Results) -> bool | None:
        a, b = _m(sv, "s3d", name), median(lim, limit)
        return None if a is None or b is None else a >= k * b

    return check


def _first_page(sv: dict[str, Results], _l: Results) -> bool | None:
    a, b = _m(sv, "s3d", "list1m.first"), _m(sv, "s3d", "list10k.first")
    return None if a is None or b is None else a <= 2 * b


def _rss(sv: dict[str, Results], _l: Results) -> bool | None:
    a = _m(sv, "s3d", "rss.peak")
    return None if a is None else a <= 150


TARGETS = [
    Target("get.ops", "≥ 2× rclone and ≥ 20× moto",
           _all(_ratio_at_least("get.ops", "rclone", 2), _ratio_at_least("get.ops", "moto", 20))),
    Target("get.p99", "≤ rclone's", _at_most_peer("get.p99", "rclone")),
    Target("put.ops", "≥ 1.5× rclone", _ratio_at_least("put.ops", "rclone", 1.5)),
    Target("up.rclone", "≥ 0.8× disk fsync write", _vs_limit("up.rclone", "disk.write_fsync", 0.8)),
    Target("down.rclone", "≥ 0.5× loopback TCP", _vs_limit("down.rclone", "loopback", 0.5)),
    Target("up.boto3", "≥ 0.8× disk fsync write", _vs_limit("up.boto3", "disk.write_fsync", 0.8)),
    Target("down.boto3", "≥ 0.5× loopback TCP", _vs_limit("down.boto3", "loopback", 0.5)),
    Target("list10k.all", "faster than both peers",
           _all(_at_most_peer("list10k.all", "rclone"), _at_most_peer("list10k.all", "moto"))),
    Target("list1m.first", "≤ 2× the first page of 10k", _first_page),
    Target("rss.peak", "≤ 150 MiB", _rss),
]  # fmt: skip
TARGET_BY_ROW = {t.row: t for t in TARGETS}


def ratio(servers: dict[str, Results], name: str, peer: str) -> str:
    a, b = _m(servers, "s3d", name), _m(servers, peer, name)
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def direction(res: dict[str, Results], name: str) -> str:
    for r in res.values():
        if name in r:
            return "↑" if r[name].better == "higher" else "↓"
    return ""


def _count(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def server_table(servers: dict[str, Results], limits: Results, big_keys: int = 1_000_000) -> str:
    names = [n for n in ("s3d", *PEERS) if n in servers]
    peers = [p for p in PEERS if p in servers and "s3d" in servers]
    head = ["workload", *names, *(f"s3d/{p}" for p in peers), "target", ""]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, label in ROWS:
        if not any(name in r for r in servers.values()):
            continue
        t = TARGET_BY_ROW.get(name)
        row = [f"{label.format(big=_count(big_keys))} {direction(servers, name)}", *(cell(servers[n], name) for n in names),
               *(ratio(servers, name, p) for p in peers), t.text if t else "",
               t.verdict(servers, limits) if t else ""]  # fmt: skip
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def limits_table(limits: Results, servers: dict[str, Results]) -> str:
    lines = ["| machine limit | value | s3d against it |", "|---|---|---|"]
    s3d = servers.get("s3d")
    versus = {
        "loopback": ("down.rclone", "down.boto3"),
        "disk.write_fsync": ("up.rclone", "up.boto3"),
        "hello.ops": ("get.ops",),
        "ceiling.down.rclone": ("down.rclone",),
        "ceiling.down.boto3": ("down.boto3",),
    }
    for name, label in LIMIT_ROWS:
        if name not in limits:
            continue
        parts = []
        for other in versus.get(name, ()):
            a, b = median(s3d, other), limits[name].median
            if a is not None and b:
                parts.append(f"{other}: {a / b:.0%}")
        lines.append(f"| {label} | {cell(limits, name)} | {', '.join(parts)} |")
    return "\n".join(lines)


def notes(servers: dict[str, Results], limits: Results, extra: dict[str, list[str]]) -> list[str]:
    out = []
    for server, res in [*servers.items(), ("machine", limits)]:
        for name, s in res.items():
            if s.note:
                out.append(f"{server} {name}: {s.note}")
        out.extend(f"{server}: {n}" for n in extra.get(server, []))
    return out


LEGEND = (
    "Figures are medians over the rounds; ↑ higher is better, ↓ lower is better; ratios are s3d's figure "
    "divided by the peer's. In brackets after a figure: average cores busy during it (CPU seconds / "
    "wall seconds) for the server's process tree / the client (the harness and the client processes it "
    "ran: wrk, rclone, boto3, dd, iperf3) / everything else on the machine, from /proc."
)


def render(data: dict[str, Any], servers: dict[str, Results], limits: Results, extra: dict[str, list[str]]) -> str:
    m = data["machine"]
    out = [
        f"Run {data['date']} on {m['cores']} cores, {m['ram_gib']} GiB RAM ({m['cpu']}), kernel {m['kernel']}, "
        f"Python {m['python']}, disk {m['disk']}; mode: {data['mode']}, {data['options']['rounds']} round(s).",
        "",
        server_table(servers, limits, data["options"]["big_keys"]),
        "",
        limits_table(limits, servers),
        "",
        LEGEND,
    ]
    ns = notes(servers, limits, extra)
    if ns:
        out += ["", "Notes:", "", *(f"- {n}" for n in ns)]
    return "\n".join(out) + "\n"
