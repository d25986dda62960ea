"""What a user would do without edge, each by its library's documented default path, same model.

- `torch.onnx.export` with its defaults (torch 2.13: the dynamo exporter), run in ONNX Runtime;
- ONNX Runtime `quantize_static` with its defaults (QDQ, int8 activations, MinMax, per-tensor);
- NNCF `nncf.quantize` with its defaults on the OpenVINO model;
- OpenVINO FP32 with its default inference precision (bf16 on CPUs with AVX-512 BF16 or AMX).
Nothing here is tuned: that is the point of a peer row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.library_output import third_party_output

Run = Callable[[np.ndarray], np.ndarray]


@dataclass
class Peer:
    name: str
    note: str
    load: Callable[[], Run] | None  # None when the peer could not be built
    precision: str = "fp32"  # what it computes in: fp32 | bf16 | int8 (picks its floor)
    path: Path | None = None
    error: str | None = None


def _ort(path: Path, threads: int) -> Callable[[], Run]:
    def load() -> Run:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})[0]

    return load


def _openvino(model_path: Path, threads: int) -> Callable[[], Run]:
    def load() -> Run:
        import openvino as ov

        compiled = ov.Core().compile_model(str(model_path), "CPU", {"INFERENCE_NUM_THREADS": threads})
        request = compiled.create_infer_request()
        return lambda x: np.array(request.infer({0: x}, share_inputs=False)[0])

    return load


def _plain_onnx(model, input_size: tuple, path: Path) -> Path:
    import torch

    # The documented call with a dynamic batch; torch 2.13 exports with dynamo by default.
    with third_party_output(), torch.no_grad():
        torch.onnx.export(model, (torch.zeros(1, *input_size),), str(path), input_names=["input"],
                          dynamic_axes={"input": {0: "batch"}})
    return path


def _ort_default_int8(fp32: Path, calibration: np.ndarray, path: Path) -> Path:
    import onnx
    from onnxruntime.quantization import quantize_static

    from edge.export.onnx_int8 import CalibrationReader

    name = onnx.load(str(fp32)).graph.input[0].name
    with third_party_output():
        quantize_static(str(fp32), str(path), CalibrationReader(calibration, name))
    return path


def _nncf_default(fp32: Path, calibration: np.ndarray, path: Path) -> Path:
    import nncf
    import openvino as ov

    with third_party_output():
        quantized = nncf.quantize(ov.convert_model(str(fp32)),
                                  nncf.Dataset([calibration[i : i + 1] for i in range(len(calibration))]))
    ov.save_model(quantized, str(path))
    return path


def _try(name: str, note: str, build: Callable[[], Path], loader, threads: int, log, precision: str) -> Peer:
    start = time.perf_counter()
    try:
        path = build()
    except Exception as exc:  # a peer that fails by its default path is a result, not a crash
        log(f"peer {name}: could not be built ({type(exc).__name__}: {str(exc)[:100]})")
        return Peer(name, note, None, precision, error=f"{type(exc).__name__}: {str(exc)[:200]}")
    log(f"peer {name}: built in {time.perf_counter() - start:.0f} s")
    return Peer(name, note, loader(path, threads), precision, path)


def build_peers(model, input_size: tuple, calibration: np.ndarray, workdir: Path, threads: int, log) -> list[Peer]:
    """The four peer artifacts, built into `workdir` from the run's PyTorch model."""
    from edge.bench.machine import has_bf16

    workdir.mkdir(parents=True, exist_ok=True)
    plain = workdir / "torch-onnx-export.onnx"
    peers = [_try("peer:torch.onnx.export", "torch.onnx.export defaults, ONNX Runtime defaults",
                  lambda: _plain_onnx(model, input_size, plain), _ort, threads, log, "fp32")]
    if peers[0].load is None:  # the other peers start from that plain export
        return peers
    source = plain
    peers.append(_try("peer:ort-quantize_static", "quantize_static defaults: QDQ, s8 activations, MinMax, per-tensor",
                      lambda: _ort_default_int8(source, calibration, workdir / "ort-default.int8.onnx"), _ort,
                      threads, log, "int8"))
    peers.append(_try("peer:nncf.quantize", "nncf.quantize defaults on the converted OpenVINO model",
                      lambda: _nncf_default(source, calibration, workdir / "nncf-default.xml"), _openvino, threads,
                      log, "int8"))
    bf16 = has_bf16()
    described = "bf16 (this CPU has AVX-512 BF16)" if bf16 else "f32 (no bf16 on this CPU)"
    peers.append(_try("peer:openvino-fp32-default", f"OpenVINO default inference precision: {described}",
                      lambda: source, _openvino, threads, log, "bf16" if bf16 else "fp32"))
    return peers
