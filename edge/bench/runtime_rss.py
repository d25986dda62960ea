"""Peak memory of one artifact as the runtime runs it: in a fresh, torch-free process.

Bench measures latency in its own process, which holds torch and every other format (1.5-2 GB for
any row). What a device pays is what `edge-infer` pays: this module is run as a child process that
imports only the runtime, loads one artifact, classifies the bench photos at batch 1 and reports
its own peak RSS (VmHWM).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np


def measure_in_child(artifact: Path, backend: str, threads: int, inputs: Path, timeout: float = 300) -> float | None:
    """Peak RSS (MB) of a child process running `artifact` over the saved inputs; None if it failed."""
    command = [sys.executable, "-m", "edge.bench.runtime_rss", str(artifact), backend, str(threads), str(inputs)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
        return float(json.loads(done.stdout.strip().splitlines()[-1])["peak_rss_mb"])
    except (subprocess.SubprocessError, ValueError, KeyError, IndexError):
        return None


def main(argv: list[str]) -> None:
    from edge.runtime.backends import create_backend
    from edge.runtime.peak_memory import peak_rss_mb

    artifact, backend, threads, inputs = argv
    run = create_backend(artifact, backend, int(threads)).run
    x = np.load(inputs)
    for i in range(len(x)):
        run(x[i : i + 1])
    if "torch" in sys.modules:  # the figure would be torch's, not the runtime's
        raise SystemExit("torch was imported: not a runtime measurement")
    print(json.dumps({"peak_rss_mb": peak_rss_mb(), "images": len(x)}))


if __name__ == "__main__":
    main(sys.argv[1:])
