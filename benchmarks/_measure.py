"""Shared by the benchmarks: peak-memory readings from /proc and time formatting."""

from __future__ import annotations

import contextlib
import ctypes

import numpy as np


def rss_kb(field: str) -> int:
    """A memory field of this process from /proc/self/status (``VmRSS``, ``VmHWM``), in kB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def trim() -> None:
    """Give freed heap pages back to the OS (glibc), so that reusing them shows in the RSS."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def reset_peak() -> int:
    """Reset the high-water mark (``VmHWM``) to the current RSS; return the RSS in kB."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return rss_kb("VmRSS")


def peak_mb(base_kb: int) -> float:
    """Peak resident memory above ``base_kb`` since :func:`reset_peak`, in MB."""
    return max(rss_kb("VmHWM") - base_kb, 0) / 1024


def fmt_seconds(seconds: float) -> str:
    if seconds == float("inf"):
        return "timeout"
    if np.isnan(seconds):
        return "error"
    return f"{seconds:.2f}" if seconds < 100 else f"{seconds:.0f}"
