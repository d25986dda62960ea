"""OpenVINO INT8 through NNCF post-training quantization (same calibration set as ONNX INT8).

With `--max-drop X`, NNCF's accuracy-controlled quantization keeps the layers that cost the most
accuracy in floating point until the validation accuracy drop is within X points.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.export.job import ExportJob
from edge.export.openvino_fp32 import save


def _quantize_plain(model, job: ExportJob):
    import nncf

    items = [job.calibration[i : i + 1] for i in range(len(job.calibration))]
    return nncf.quantize(model, nncf.Dataset(items), subset_size=len(items))


def _quantize_controlled(model, job: ExportJob):
    import nncf

    items = [job.calibration[i : i + 1] for i in range(len(job.calibration))]
    val_items = [(job.val_x[i : i + 1], int(job.val_y[i])) for i in range(len(job.val_x))]

    def validate(compiled, data) -> float:
        output = compiled.outputs[0]
        hits = [int(np.argmax(compiled(x)[output]) == y) for x, y in data]
        return float(np.mean(hits))

    return nncf.quantize_with_accuracy_control(
        model, nncf.Dataset(items), nncf.Dataset(val_items, lambda item: item[0]), validate,
        max_drop=job.max_drop / 100.0, drop_type=nncf.DropType.ABSOLUTE, subset_size=len(items),
    )


def export(job: ExportJob) -> Path:
    import openvino as ov

    model = ov.Core().read_model(str(job.workdir / "openvino/model.xml"))
    controlled = job.max_drop is not None and job.val_y is not None
    quantized = _quantize_controlled(model, job) if controlled else _quantize_plain(model, job)
    job.notes["openvino-int8"] = {"settings": "nncf accuracy-control" if controlled else "nncf default (mixed bias "
                                  "correction, performance preset)", "max_drop": job.max_drop}
    return save(quantized, job.path("openvino-int8/model.xml"), job.manifest.with_updates(precision="int8"))
