"""OpenVINO INT8 through NNCF post-training quantization (same calibration set as ONNX INT8).

NNCF settings are tried best-first by `int8_search.search`, under the same budget as ONNX INT8
(`--max-drop`, default 1 point). When none is within budget, NNCF's accuracy-controlled
quantization keeps the layers that cost the most accuracy in float until the drop fits.

Against `nncf.quantize`'s defaults (Lite0, a 2-core EPYC without AMX) the CPU plugin runs the same 49
convolutions in u8; what differs is the float unknown score (~15 us of ~2 ms per image), which keeps far
images' decisions (NNCF's defaults quantize it: score off by 0.23, 2% of decisions flipped).
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import numpy as np

from edge.export import int8_search, score_path
from edge.export.job import ExportJob
from edge.export.openvino_fp32 import save
from edge.library_output import third_party_output

SETTINGS = {  # name -> nncf.quantize keyword arguments, in order of preference
    # Symmetric activations (performance preset) run ~20 % faster on CPU than the mixed preset's
    # asymmetric ones; full bias correction wins back the accuracy the fast one leaves.
    "nncf-performance-full-bias-correction": lambda nncf: {"fast_bias_correction": False},
    "nncf-mixed-preset-full-bias-correction": lambda nncf: {"preset": nncf.QuantizationPreset.MIXED,
                                                             "fast_bias_correction": False},
}


def _calibration(job: ExportJob):
    import nncf

    return nncf.Dataset([job.calibration[i : i + 1] for i in range(len(job.calibration))])


def _fp32(job: ExportJob):
    import openvino as ov

    return ov.Core().read_model(str(job.artifact("openvino")))


def _float_score(nncf, model):
    """The unknown score's own ops stay in float (see edge.export.score_path)."""
    return nncf.IgnoredScope(names=score_path.openvino_ops(model), validate=False)


def _quantize(job: ExportJob, name: str, out: Path) -> Path:
    import nncf

    out.mkdir(parents=True, exist_ok=True)
    model = _fp32(job)
    with third_party_output():
        quantized = nncf.quantize(model, _calibration(job), subset_size=len(job.calibration),
                                  ignored_scope=_float_score(nncf, model), **SETTINGS[name](nncf))
    return save(quantized, out / "model.xml", job.manifest_for("openvino-int8"))


def _controlled(job: ExportJob, out: Path) -> Path:
    import nncf

    val_items = [(job.val_x[i : i + 1], int(job.val_y[i])) for i in range(len(job.val_x))]

    def validate(compiled, data) -> float:
        output = compiled.outputs[0]
        # share_inputs=False: a shared array can be overwritten by a later request (OpenVINO 2026.4.1)
        return float(np.mean([int(np.argmax(compiled(x, share_inputs=False)[output]) == y) for x, y in data]))

    out.mkdir(parents=True, exist_ok=True)
    model = _fp32(job)
    with third_party_output():
        quantized = nncf.quantize_with_accuracy_control(
            model, _calibration(job), nncf.Dataset(val_items, lambda item: item[0]), validate,
            max_drop=job.budget / 100.0, drop_type=nncf.DropType.ABSOLUTE, subset_size=len(job.calibration),
            ignored_scope=_float_score(nncf, model),
        )
    return save(quantized, out / "model.xml", job.manifest_for("openvino-int8"))


def export(job: ExportJob) -> Path:
    workdir = job.path(".nncf/x").parent
    candidates = [int8_search.Candidate(name, partial(_quantize, job, name)) for name in SETTINGS]
    if job.val_y is not None:  # accuracy control needs labels
        candidates.append(int8_search.Candidate(f"nncf-accuracy-control-{job.budget:g}pt", partial(_controlled, job)))
    best = int8_search.winner(job, "openvino-int8", candidates, "openvino", workdir, "")
    target = job.artifact("openvino-int8")
    for suffix in (".xml", ".bin"):  # the winner as saved and measured, manifest included
        shutil.copyfile(best.with_suffix(suffix), target.with_suffix(suffix))
    shutil.rmtree(workdir, ignore_errors=True)
    return target
