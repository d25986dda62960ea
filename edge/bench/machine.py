"""What machine a benchmark ran on, and its measured compute peaks (for the floor column)."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "amx_bf16")
    return [f for f in wanted if f in flags]


def machine_info(threads: int) -> dict:
    import onnxruntime

    info = {"cpu": _cpu_model(), "arch": platform.machine(), "cores": os.cpu_count(), "threads": threads,
            "isa": _flags(), "python": platform.python_version(), "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__}
    try:
        import openvino

        info["openvino"] = openvino.__version__
    except ImportError:
        pass
    return info


def peak_fp32_gflops(threads: int) -> float:
    """Best sustained fp32 GEMM rate (torch/MKL, `threads` threads)."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * 2048**3 / best / 1e9


def peak_int8_gops(threads: int) -> float:
    """Best int8 GEMM rate through ONNX Runtime's MatMulInteger (u8 x s8, VNNI where present)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    n = 2048
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "mm",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n]),
         helper.make_tensor_value_info("b", TensorProto.INT8, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [n, n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feeds = {"a": np.random.randint(0, 255, (n, n), dtype=np.uint8),
             "b": np.random.randint(-127, 127, (n, n), dtype=np.int8)}
    onnx.checker.check_model(model)
    session.run(None, feeds)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        session.run(None, feeds)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def model_gflops(model, input_size: tuple[int, int, int]) -> float:
    """FLOPs of one forward pass at batch 1 (torch's FlopCounterMode counts a multiply-add as 2)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, *input_size))
    return counter.get_total_flops() / 1e9
