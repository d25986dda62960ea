"""ncnn: pnnx converts a TorchScript trace of the model into model.ncnn.param + .bin (FP32 weights).

pnnx is a command-line tool (the wheel ships the binary); its Python `convert` also imports the
model code it generates, so the binary is called directly. Its intermediates (pnnx.param/.bin/.py/
.onnx, an ncnn .py) go into a scratch folder that is removed. The weights stay FP32 (`fp16=False`): whether
ncnn then computes in FP16 is a runtime option (NcnnBackend), on by default where the CPU has
FP16 arithmetic (ARMv8.2, e.g. a Pi 5), off on a Pi 4 and on x86.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

import torch

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
    shape = ",".join(str(d) for d in example.shape)
    command = [pnnx.EXEC_PATH, str(scratch / "model.pt"), f"inputshape=[{shape}]f32", "fp16=0", "device=cpu",
               f"ncnnparam={target}", f"ncnnbin={target.with_suffix('.bin')}",
               *(f"{key}={scratch / ('model.' + key)}" for key in INTERMEDIATES)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise EdgeError(f"ncnn: pnnx failed ({(done.stderr or done.stdout).strip().splitlines()[-1:]})")
    shutil.rmtree(scratch, ignore_errors=True)
    if not (target.is_file() and target.with_suffix(".bin").is_file()):
        raise EdgeError(f"ncnn: pnnx wrote no {target.name} ({done.stdout.strip().splitlines()[-1:]})")
    return target
