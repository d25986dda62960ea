"""What machine a benchmark ran on, and its measured compute peaks (for the floor column)."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np


def _flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16")
    return [f for f in wanted if f in flags]


def machine_info(threads: int) -> dict:
    """The CPU, its instruction sets, and the versions of Python, numpy and every runtime backend's library."""
    from edge.runtime.autotune import machine_name
    from edge.runtime.backends import runtime_library_versions

    return {"cpu": machine_name(), "arch": platform.machine(), "cores": os.cpu_count(), "threads": threads,
            "isa": _flags(), "python": platform.python_version(), "numpy": np.__version__, **runtime_library_versions()}


def has_bf16() -> bool:
    """Does this CPU compute bf16 natively (AVX-512 BF16 or AMX)? OpenVINO then defaults FP32 models to bf16."""
    return any(flag in _flags() for flag in ("avx512_bf16", "amx_bf16"))


def _best_seconds(call, runs: int = 5) -> float:
    call()
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def _ort_matmul(op: str, a_type: int, b_type: int, out_type: int, threads: int):
    import onnxruntime as ort
    from onnx import helper

    graph = helper.make_graph([helper.make_node(op, ["a", "b"], ["y"])], "mm",
                              [helper.make_tensor_value_info("a", a_type, ["m", "k"]),
                               helper.make_tensor_value_info("b", b_type, ["k", "n"])],
                              [helper.make_tensor_value_info("y", out_type, ["m", "n"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


SHAPES = (512, 1024, 2048)  # square GEMMs; the best of them is the machine's peak


def peak_fp32_gflops(threads: int) -> float:
    """Best sustained fp32 GEMM rate: torch (MKL/oneDNN) and ONNX Runtime (MLAS), best of shapes and runs."""
    import torch
    from onnx import TensorProto

    torch.set_num_threads(threads)
    session = _ort_matmul("MatMul", TensorProto.FLOAT, TensorProto.FLOAT, TensorProto.FLOAT, threads)
    best = 0.0
    for n in SHAPES:
        a, b = torch.randn(n, n), torch.randn(n, n)
        feeds = {"a": a.numpy(), "b": b.numpy()}
        seconds = min(_best_seconds(lambda: a @ b), _best_seconds(lambda: session.run(None, feeds)))  # noqa: B023
        best = max(best, 2 * n**3 / seconds / 1e9)
    return best


def peak_bf16_gflops(threads: int) -> float:
    """Best bf16 GEMM rate (torch/oneDNN), for artifacts a runtime computes in bf16 (OpenVINO's default)."""
    import torch

    torch.set_num_threads(threads)
    best = 0.0
    for n in SHAPES:
        a, b = torch.randn(n, n, dtype=torch.bfloat16), torch.randn(n, n, dtype=torch.bfloat16)
        best = max(best, 2 * n**3 / _best_seconds(lambda: a @ b) / 1e9)  # noqa: B023
    return best


def peak_int8_gops(threads: int) -> float:
    """Best int8 GEMM rate through ONNX Runtime's MatMulInteger (u8 x s8, VNNI where present)."""
    from onnx import TensorProto

    session = _ort_matmul("MatMulInteger", TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32, threads)
    best = 0.0
    for n in SHAPES:
        feeds = {"a": np.random.randint(0, 255, (n, n), dtype=np.uint8),
                 "b": np.random.randint(-127, 127, (n, n), dtype=np.int8)}
        best = max(best, 2 * n**3 / _best_seconds(lambda: session.run(None, feeds)) / 1e9)  # noqa: B023
    return best


def memory_bandwidth_gbs() -> float:
    """Streaming copy of 256 MB (read + write), best of runs: what DRAM delivers to this process."""
    src = np.ones(64 * 1024 * 1024, dtype=np.float32)
    dst = np.empty_like(src)
    return 2 * src.nbytes / _best_seconds(lambda: np.copyto(dst, src)) / 1e9


def model_gflops(model, input_size: tuple[int, int, int]) -> float:
    """FLOPs of one forward pass at batch 1 (torch's FlopCounterMode counts a multiply-add as 2)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, *input_size))
    return counter.get_total_flops() / 1e9
