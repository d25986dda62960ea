"""Latency cost of the unknown score: each ONNX artifact with and without its second output, alternating.

    python scripts/unknown_overhead.py   # reads exports/flowers5, writes benchmarks/unknown/latency_overhead.json
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import onnx

from edge.atomic import write_json
from edge.runtime.backends import create_backend
from edge.runtime.timing import batch1_latencies_ms


def without_score(path: Path, dest: Path) -> Path:
    model = onnx.load(str(path))
    del model.graph.output[1]  # ONNX Runtime then prunes the score's nodes
    onnx.save(model, str(dest))
    return dest


def main() -> None:
    result = {}
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("model.onnx", "model.int8.onnx"):
            source = Path("exports/flowers5") / name
            runs = [create_backend(source, "onnxruntime", 2).run_all,
                    create_backend(without_score(source, Path(tmp) / name), "onnxruntime", 2).run_all]
            times: list[list[float]] = [[], []]
            for _ in range(10):  # alternating rounds: the VM's drift hits both alike
                for i, run in enumerate(runs):
                    times[i] += list(batch1_latencies_ms(run, x, 40, 5))
            with_score, without = (float(np.median(t)) for t in times)
            result[name] = {"with_score_p50_ms": round(with_score, 3), "without_p50_ms": round(without, 3),
                            "overhead_percent": round(100 * (with_score / without - 1), 2)}
    print(json.dumps(result, indent=1))
    write_json("benchmarks/unknown/latency_overhead.json", result)


if __name__ == "__main__":
    main()
