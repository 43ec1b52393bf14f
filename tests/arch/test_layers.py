"""The layering rules of docs/architecture.md, read from the code's own imports (every import counts,
including function-level and type-checking-only ones)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "s3d"
# lower layers that must never reach up into the S3 or server layers (or the wiring)
LOWER = ("s3d.store", "s3d.gateway", "s3d.remote", "s3d.observe", "s3d.sync")
UPPER = ("s3d.s3", "s3d.server", "s3d.admin", "s3d.console", "s3d.daemon", "s3d.cli")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in SRC.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The s3d modules a module imports (``from pkg import sub`` counts as importing ``pkg.sub``)."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith(PACKAGE))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            if not base.startswith(PACKAGE):
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if sub in known else base)
    return {m for m in out if m in known and m != name}


@functools.cache
def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def within(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


@pytest.mark.parametrize("lower", LOWER)
def test_lower_layers_never_import_the_s3_or_server_layers(lower: str) -> None:
    bad = sorted(
        f"{m} -> {dep}"
        for m, deps in graph().items()
        if within(m, lower)
        for dep in deps
        if any(within(dep, up) for up in UPPER)
    )
    assert bad == []


def test_only_the_wiring_names_the_botocore_remote() -> None:
    users = sorted(m for m, deps in graph().items() if "s3d.remote.botocore_remote" in deps)
    assert users == ["s3d.daemon"]


def test_no_import_cycles_in_src() -> None:
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_import_reader_sees_a_known_edge() -> None:
    """The checks above are only as good as the graph: it must see real imports."""
    g = graph()
    assert "s3d.store.store" in g["s3d.store.namespace"]
    assert "s3d.observe.events" in g["s3d.observe.metrics"]
