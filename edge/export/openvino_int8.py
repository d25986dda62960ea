"""OpenVINO INT8 through NNCF post-training quantization (same calibration set as ONNX INT8).

A few NNCF settings are each measured like the ONNX candidates; the fastest within the accuracy
budget wins. When none is within budget (or `--max-drop X` asks for it), NNCF's accuracy-controlled
quantization keeps the layers that cost the most accuracy in float until the drop is within budget.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.export import selection
from edge.export.job import ExportJob
from edge.export.openvino_fp32 import save

SETTINGS = {  # name -> nncf.quantize keyword arguments (built lazily: nncf is imported in export())
    "nncf-performance-fast-bias-correction": lambda nncf: {},
    # Symmetric activations (performance preset) run ~20 % faster on CPU than the mixed preset's
    # asymmetric ones; full bias correction wins back the accuracy the fast one leaves.
    "nncf-performance-full-bias-correction": lambda nncf: {"fast_bias_correction": False},
    "nncf-mixed-preset": lambda nncf: {"preset": nncf.QuantizationPreset.MIXED},
    "nncf-mixed-preset-full-bias-correction": lambda nncf: {"preset": nncf.QuantizationPreset.MIXED,
                                                             "fast_bias_correction": False},
}


def _calibration(job: ExportJob):
    import nncf

    return nncf.Dataset([job.calibration[i : i + 1] for i in range(len(job.calibration))])


def _controlled(model, job: ExportJob, max_drop: float):
    import nncf

    val_items = [(job.val_x[i : i + 1], int(job.val_y[i])) for i in range(len(job.val_x))]

    def validate(compiled, data) -> float:
        output = compiled.outputs[0]
        # share_inputs=False: a shared array can be overwritten by a later request (OpenVINO 2026.4.1)
        return float(np.mean([int(np.argmax(compiled(x, share_inputs=False)[output]) == y) for x, y in data]))

    return nncf.quantize_with_accuracy_control(
        model, _calibration(job), nncf.Dataset(val_items, lambda item: item[0]), validate,
        max_drop=max_drop / 100.0, drop_type=nncf.DropType.ABSOLUTE, subset_size=len(job.calibration),
    )


def _try(name: str, quantized, job: ExportJob) -> dict:
    path = save(quantized, job.path(f".nncf/{name}/model.xml"), job.manifest.with_updates(precision="int8"))
    return {"settings": name, "path": path, **selection.measure("openvino", path, job)}


def export(job: ExportJob) -> Path:
    import shutil

    import nncf
    import openvino as ov

    fp32 = lambda: ov.Core().read_model(str(job.workdir / "openvino/model.xml"))  # noqa: E731
    tried = []
    if job.max_drop is None or job.val_y is None:
        for name, kwargs in SETTINGS.items():
            quantized = nncf.quantize(fp32(), _calibration(job), subset_size=len(job.calibration), **kwargs(nncf))
            tried.append(_try(name, quantized, job))
    best, within = selection.choose(tried) if tried else (None, False)
    if not within and job.val_y is not None:
        budget = job.max_drop if job.max_drop is not None else selection.MAX_DROP_POINTS
        tried.append(_try(f"nncf-accuracy-control-{budget:g}pt", _controlled(fp32(), job, budget), job))
        best, within = selection.choose(tried)
    target = job.path("openvino-int8/model.xml")
    for suffix in (".xml", ".bin"):  # the winner as saved and measured, manifest included
        shutil.copyfile(best["path"].with_suffix(suffix), target.with_suffix(suffix))
    shutil.rmtree(job.workdir / ".nncf", ignore_errors=True)
    job.notes["openvino-int8"] = {"settings": best["settings"], "within_budget": within,
                                  "candidates": selection.public(tried)}
    return target
