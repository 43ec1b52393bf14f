"""Progress bars (rich, on stderr) for long transfers and waits, shown only when stderr is a terminal."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from s3d.cli.output import stderr_is_terminal

TRANSFER_MIN = 4 * 1024 * 1024  # smaller transfers finish before a bar is worth drawing


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def transfer(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """Yields a callback taking a number of bytes moved; draws a bar for terminals and big transfers."""
    if not stderr_is_terminal() or total is None or total < TRANSFER_MIN:
        yield lambda n: None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    lock = threading.Lock()
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(binary_units=True),
               TransferSpeedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=_console(), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int) -> None:
            with lock:  # boto3 calls back from its transfer threads
                bar.advance(task, n)

        yield advance


@contextmanager
def countdown(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yields a callback taking how many of `total` items remain (a flush draining its queue)."""
    if not stderr_is_terminal():
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=_console(), transient=True) as bar:  # fmt: skip
        task = bar.add_task(description, total=max(total, 1))

        def remaining(n: int) -> None:
            bar.update(task, completed=max(0, total - n))

        yield remaining


@contextmanager
def spinner(description: str) -> Iterator[Callable[[str], None]]:
    """Yields a callback that changes the text next to a spinner, for waits of unknown length."""
    if not stderr_is_terminal():
        yield lambda text: None
        return
    with _console().status(description) as status:
        yield lambda text: status.update(text)
