"""Our OpenVINO INT8 IR computes what nncf.quantize's defaults compute, plus a float unknown score."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.conftest import real_photos


def _executed(path) -> Counter:
    """(layer type, runtime precision) of each node the CPU plugin runs, compiled at batch 1 as the runtime does."""
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(path))
    model.reshape([1, *list(model.inputs[0].get_partial_shape())[1:]])
    runtime = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": 1}).get_runtime_model()
    return Counter((op.get_rt_info()["layerType"].astype(str), op.get_rt_info()["runtimePrecision"].astype(str))
                   for op in runtime.get_ops())


@pytest.mark.openvino
def test_every_convolution_runs_in_int8_as_under_nncf_defaults(tmp_path):
    """Measured on Lite0 (2-core EPYC): the same 49 u8 convolutions as NNCF's defaults, and the float score
    path's few vector ops cost ~15 us of ~2 ms. A setting that left a convolution in float would cost more."""
    import nncf
    import openvino as ov

    from edge.export import onnx_fp32, openvino_fp32, openvino_int8
    from tests.export.litert_helpers import open_set_job

    by_class = real_photos(4)
    images = [p for paths in by_class.values() for p in paths]
    job = open_set_job(images, [i for i, paths in enumerate(by_class.values()) for _ in paths], tmp_path)
    onnx_fp32.export(job)
    fp32 = openvino_fp32.export(job)
    ours = _executed(openvino_int8._quantize(job, next(iter(openvino_int8.SETTINGS)), tmp_path / "ours"))
    defaults = nncf.quantize(ov.Core().read_model(str(fp32)),
                             nncf.Dataset([job.calibration[i : i + 1] for i in range(len(job.calibration))]))
    ov.save_model(defaults, str(tmp_path / "defaults.xml"))
    theirs = _executed(tmp_path / "defaults.xml")

    def convolutions(executed: Counter) -> Counter:
        return Counter({key: n for key, n in executed.items() if key[0] == "Convolution"})

    assert convolutions(ours) == convolutions(theirs)
    assert convolutions(ours) and {precision for _, precision in convolutions(ours)} <= {"u8", "i8"}
