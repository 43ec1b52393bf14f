"""A worker's life is tied to the `s3d run` process that forked it.

If the main process dies (even by kill -9) its workers must not live on: they would keep the
data dir locked and keep acknowledging writes that no shipper ships. Two independent guards:
the kernel's parent-death signal (Linux prctl PR_SET_PDEATHSIG), and a pipe whose write end only
the main process holds: its read end reaches end-of-file in the workers when the main process is gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import threading
from dataclasses import dataclass

log = logging.getLogger("s3d")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
DEATH_SIGNAL = signal.SIGKILL  # what is committed is crash-safe; what is not was never acknowledged


@dataclass(frozen=True, slots=True)
class Lifeline:
    parent_pid: int
    read_fd: int
    write_fd: int


def make() -> Lifeline:
    """Before forking the workers, in the main process."""
    r, w = os.pipe()
    return Lifeline(os.getpid(), r, w)


def parent_keeps(line: Lifeline) -> None:
    """After forking: the main process holds only the write end (never written, closed by its death)."""
    os.close(line.read_fd)


def bind_worker(line: Lifeline) -> None:
    """In a freshly forked worker: die with the main process."""
    os.close(line.write_fd)
    _set_parent_death_signal()
    if os.getppid() != line.parent_pid:  # the main process died before the signal was set
        os._exit(1)
    threading.Thread(target=_watch, args=(line.read_fd,), name="s3d-lifeline", daemon=True).start()


def _set_parent_death_signal() -> None:
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(DEATH_SIGNAL), 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(ctypes.get_errno()))
    except (OSError, AttributeError):  # not Linux: the pipe watch alone guards
        pass


def _watch(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 1):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    log.error("the main s3d process is gone: this worker exits")
    os.kill(os.getpid(), DEATH_SIGNAL)
