"""Peak resident memory (RSS) in MB: the one reader behind export's `peak_rss_mb` and bench's per-format peaks.

Torch-free, so bench's runtime child (edge.bench.runtime_rss) reads it with nothing but the runtime loaded.
"""

from __future__ import annotations

from pathlib import Path


def reset_peak() -> None:
    """Linux: writing 5 to /proc/self/clear_refs restarts VmHWM, so the next peak_rss_mb() is a peak from now on."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb(children: bool = False) -> float | None:
    """This process's peak RSS since it started or since reset_peak() (VmHWM); with `children`, the larger of
    this process's and the largest child's it waited for (MCT, imxconv-pt and pnnx run as their own processes),
    as `/usr/bin/time -v` reports them. None where neither can be read (Windows)."""
    if not children:
        hwm = _vm_hwm_kib()
        if hwm is not None:
            return round(hwm / 1024, 1)
    try:
        import resource
    except ImportError:  # Windows
        return None
    who = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) if children else (resource.RUSAGE_SELF,)
    return round(max(resource.getrusage(w).ru_maxrss for w in who) / 1024, 1)  # Linux reports KiB


def _vm_hwm_kib() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:  # not Linux
        pass
    return None
