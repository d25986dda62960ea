"""edge bench's glass-to-label rows: a camera frame, a model-sized frame, picam's lores and a JPEG to a label."""

from __future__ import annotations

from edge.bench import glass
from edge.runtime.classifier import Classifier
from tests.conftest import real_photos
from tests.runtime.test_capture_size import color_model


def test_every_input_kind_gets_each_stage_and_the_same_answer(tmp_path):
    clf = Classifier(color_model(tmp_path), threads=1)
    photo = real_photos(1)["roses"][0]
    result = glass.measure({"onnx": clf}, photo, repeats=4, rounds=2)["onnx"]
    assert list(result) == ["640x480 BGR frame", "96x72 BGR frame", "96x72 YUV420 (picam lores)", "640x480 JPEG"]
    for row in result.values():
        assert set(row) == {"ms_p50", *(f"{s}_ms_p50" for s in glass.STAGES)}
        assert row["inference_ms_p50"] > 0 and row["ms_p50"] >= row["inference_ms_p50"]
    assert result["640x480 BGR frame"]["decode_ms_p50"] < result["640x480 JPEG"]["decode_ms_p50"]
    labels = set()
    for decode, data in glass.inputs(photo, clf.manifest.preprocessing.resize_size).values():  # the same photo: the same colour
        frame = clf.preprocess.load(data) if decode == "photo" else data if decode is None else decode(data)
        labels.add(clf.predict(frame if decode != "photo" else data, k=1).label)
    assert len(labels) == 1


def test_rows_print_beside_the_tensor_in_latency():
    result = {"rows": [{"format": "onnx-int8", "latency_ms_p50": 3.1, "glass": {"640x480 BGR frame": {
        "ms_p50": 4.2, "decode_ms_p50": 0.0, "preprocess_ms_p50": 0.8, "inference_ms_p50": 3.2, "postprocess_ms_p50": 0.1}}},
        {"format": "pytorch", "latency_ms_p50": 9.0}]}
    lines = glass.markdown_lines(result)
    assert lines[-1] == "| onnx-int8 | 640x480 BGR frame | 4.2 | 0.0 | 0.8 | 3.2 | 0.1 | 3.1 |"
    assert glass.table(result).row_count == 1 and glass.table({"rows": result["rows"][1:]}) is None
