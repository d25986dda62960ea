"""'None of these': a cross-validated run exports an unknown score, and the runtime answers 'unknown'."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from edge.cli.main import app
from edge.runtime import Classifier
from edge.runtime.cli import app as infer_app

runner = CliRunner()
FAST = ["--no-pretrained", "--image-size", "64", "--batch-size", "8", "--cv-folds", "2"]


@pytest.fixture(scope="module")
def open_set_export(tmp_path_factory):
    from tests.conftest import make_dataset

    root = tmp_path_factory.mktemp("openset")
    data = make_dataset(root / "data", 6)
    assert runner.invoke(app, ["train", str(data), "--out", str(root / "run"), "--model", "mobilenet_v3_small",
                               *FAST]).exit_code == 0
    result = runner.invoke(app, ["export", str(root / "run"), "--out", str(root / "export"), "--format", "onnx",
                                 "--format", "onnx-int8", "--format", "openvino", "--calibration-size", "6"])
    assert result.exit_code == 0, result.output
    return root


def test_manifest_and_every_format_carry_the_unknown_score(open_set_export):
    report = json.loads((open_set_export / "export" / "export_report.json").read_text())
    for row in report["formats"]:
        assert row["unknown_decision_agreement"] >= 0.9, row["name"]
    fp32 = {r["name"]: r for r in report["formats"]}
    assert fp32["onnx"]["unknown_score_max_abs_diff"] < 1e-4 and fp32["openvino"]["unknown_score_max_abs_diff"] < 1e-4
    unknown = json.loads((open_set_export / "export" / "manifest.json").read_text())["unknown"]
    assert unknown["score"] == "cosine_to_class_mean" and unknown["keep"] == 0.95
    assert unknown["thresholds"]["0.99"] <= unknown["threshold"] <= unknown["thresholds"]["0.9"]


@pytest.mark.parametrize("artifact", ["model.onnx", "openvino/model.xml"])
def test_classifier_answers_unknown_below_the_threshold(open_set_export, artifact):
    clf = Classifier(open_set_export / "export" / artifact)
    assert clf.threshold is not None
    noise = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    prediction = clf.classify(noise)
    assert prediction.score is not None and prediction.unknown == (prediction.score < clf.threshold)
    assert prediction.label == ("unknown" if prediction.unknown else prediction.top[0][0])
    strict = Classifier(open_set_export / "export" / artifact, keep=0.995)
    assert strict.threshold <= clf.threshold  # keeping more in-class photos lowers the bar
    assert Classifier(open_set_export / "export" / artifact, unknown=False).threshold is None


def test_edge_infer_json_has_label_unknown_and_score(open_set_export, tmp_path):
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.full((90, 120, 3), 40 * i, np.uint8)).save(tmp_path / f"flat{i}.png")
    model = str(open_set_export / "export" / "model.onnx")
    rows = [json.loads(line) for line in runner.invoke(infer_app, [model, str(tmp_path), "--json", "--keep", "0.999"])
            .stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 3 and all({"label", "unknown", "score"} <= set(r) for r in rows)
    assert all(r["label"] == ("unknown" if r["unknown"] else r["top"][0]["label"]) for r in rows)
    plain = runner.invoke(infer_app, [model, str(tmp_path), "--json", "--no-unknown"])
    assert all(not json.loads(line)["unknown"] and "score" not in json.loads(line)
               for line in plain.stdout.splitlines() if line.startswith("{"))


def test_old_exports_without_a_score_behave_as_before(tiny_export, tiny_data):
    clf = Classifier(tiny_export / "model.onnx")
    assert clf.threshold is None
    photo = next((tiny_data / "daisy").iterdir())
    prediction = clf.classify(photo)
    assert prediction.unknown is False and prediction.score is None and prediction.top == clf.predict(photo)
