"""A process's resident memory, read from /proc, and its peak while something runs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


def rss_mb(pid: int) -> float:
    """The resident set size of process `pid`, in MB (Linux: /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@contextlib.contextmanager
def peak_rss(pid: int, every_s: float = 0.002) -> Iterator[dict[str, float]]:
    """Sample `pid`'s RSS every few ms while the block runs; the dict yielded holds
    `before` at once and `peak` (the most seen, before included) once the block ends."""
    figures = {"before": rss_mb(pid)}
    figures["peak"] = figures["before"]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            figures["peak"] = max(figures["peak"], rss_mb(pid))
            done.wait(every_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield figures
    finally:
        done.set()
        sampler.join()
        figures["peak"] = max(figures["peak"], rss_mb(pid))
