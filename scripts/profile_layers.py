"""Where an OpenVINO artifact's batch-1 time goes, by kind of layer, against each kind's own floor.

OpenVINO's per-node performance counters give the time; the run's PyTorch model gives each kind's
FLOPs (depthwise, pointwise 1x1, other convolutions, the classifier); a kind's floor is its FLOPs
over the machine's measured INT8 (or FP32) GEMM peak.

    python scripts/profile_layers.py runs/flowers5 exports/flowers5/openvino-int8/model.xml \
        --out benchmarks/flowers5/layer_profile.json
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from edge.atomic import write_json
from edge.bench.machine import peak_fp32_gflops, peak_int8_gops
from edge.train.api import load_run


def kind_of_conv(module: torch.nn.Conv2d) -> str:
    if module.groups > 1 and module.groups == module.in_channels:
        return "depthwise conv"
    return "pointwise conv (1x1)" if module.kernel_size == (1, 1) else "other conv"


def flops_by_kind(model: torch.nn.Module, input_size: tuple) -> dict[str, float]:
    flops: dict[str, float] = defaultdict(float)

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            flops[kind_of_conv(module)] += 2 * output.numel() * per_output
        elif isinstance(module, torch.nn.Linear):
            flops["classifier"] += 2 * module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(1, *input_size))
    for h in handles:
        h.remove()
    return dict(flops)


def kind_of_node(node_type: str, exec_type: str) -> str:
    if node_type == "Convolution" or "conv" in exec_type.lower():
        if "_dw" in exec_type.lower() or node_type == "GroupConvolution":
            return "depthwise conv"
        return "conv (pointwise and other)"
    if node_type in ("FullyConnected", "MatMul"):
        return "classifier"
    return f"other: {node_type}"


def openvino_profile(xml: Path, input_size: tuple, threads: int, runs: int) -> dict[str, float]:
    import openvino as ov

    config = {"PERF_COUNT": "YES", "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
    model = ov.Core().read_model(str(xml))
    model.reshape([1, *input_size])
    request = ov.Core().compile_model(model, "CPU", config).create_infer_request()
    x = np.random.default_rng(0).standard_normal((1, *input_size)).astype(np.float32)
    for _ in range(20):
        request.infer({0: x})
    totals: dict[str, float] = defaultdict(float)
    for _ in range(runs):
        request.infer({0: x})
        for info in request.profiling_info:
            totals[kind_of_node(info.node_type, info.exec_type)] += info.real_time.total_seconds() * 1000 / runs
    return dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    run = load_run(args.run)
    size = tuple(run.manifest.input_size)
    int8 = "int8" in str(args.artifact)
    peak = peak_int8_gops(args.threads) if int8 else peak_fp32_gflops(args.threads)
    flops = flops_by_kind(run.model, size)
    times = openvino_profile(args.artifact, size, args.threads, args.runs)
    conv_other = flops.get("pointwise conv (1x1)", 0) + flops.get("other conv", 0)
    kinds = {"depthwise conv": flops.get("depthwise conv", 0), "conv (pointwise and other)": conv_other,
             "classifier": flops.get("classifier", 0)}
    rows = []
    for kind, ms in sorted(times.items(), key=lambda kv: -kv[1]):
        floor = kinds.get(kind, 0) / 1e9 / peak * 1000
        rows.append({"kind": kind, "ms": round(ms, 4), "share": round(ms / sum(times.values()), 3),
                     "gflops": round(kinds.get(kind, 0) / 1e9, 4), "floor_ms": round(floor, 4),
                     "times_floor": round(ms / floor, 1) if floor else None})
    result = {"artifact": str(args.artifact), "threads": args.threads, "peak_gops": round(peak, 1),
              "total_ms": round(sum(times.values()), 3), "rows": rows}
    write_json(args.out, result)
    for r in rows:
        print(f"{r['kind']:28s} {r['ms']:.3f} ms ({r['share']:.0%})  floor {r['floor_ms']:.3f} ms  x{r['times_floor']}")


if __name__ == "__main__":
    main()
