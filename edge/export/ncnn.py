"""ncnn: pnnx converts a TorchScript trace of the model into model.ncnn.param + .bin (FP32 weights).

pnnx writes its own intermediates (pnnx.param/.bin/.py/.onnx, an ncnn .py) beside its input;
they go into a scratch folder that is removed. The weights stay FP32 (`fp16=False`): whether
ncnn then computes in FP16 is a runtime option (NcnnBackend), on by default where the CPU has
FP16 arithmetic (ARMv8.2, e.g. a Pi 5), off on a Pi 4 and on x86.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import torch

from edge.chatter import third_party_output
from edge.errors import EdgeError
from edge.export.job import ExportJob

INTERMEDIATES = ("pnnxparam", "pnnxbin", "pnnxpy", "pnnxonnx", "ncnnpy")


def _pnnx():
    try:
        import pnnx
    except ImportError:
        raise EdgeError("ncnn export needs pnnx: pip install 'edge-classifier[pnnx]'") from None
    return pnnx


def export(job: ExportJob) -> Path:
    pnnx = _pnnx()
    scratch = job.path(".pnnx/x").parent
    example = torch.zeros(1, *job.input_shape)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.jit.trace(job.model.eval(), example).save(str(scratch / "model.pt"))
    target = job.artifact("ncnn")
    names = {key: str(scratch / f"model.{key}") for key in INTERMEDIATES}
    with third_party_output():
        pnnx.convert(str(scratch / "model.pt"), [example], ncnnparam=str(target),
                     ncnnbin=str(target.with_suffix(".bin")), fp16=False, **names)
    shutil.rmtree(scratch, ignore_errors=True)
    if not (target.is_file() and target.with_suffix(".bin").is_file()):
        raise EdgeError(f"ncnn: pnnx wrote no {target.name}; rerun with --verbose to see its output")
    return target
