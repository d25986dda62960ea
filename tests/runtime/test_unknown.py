"""'None of these': a cross-validated run exports an unknown score, and the runtime answers 'unknown'."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edge.cli.infer import app as infer_app
from edge.cli.main import app
from edge.runtime import Classifier

runner = CliRunner()
FAST = ["--no-pretrained", "--image-size", "64", "--batch-size", "8", "--cv-folds", "2"]


@pytest.fixture(scope="module")
def open_set_export(tmp_path_factory):
    from tests.conftest import make_dataset

    root = tmp_path_factory.mktemp("openset")
    data = make_dataset(root / "data", 6)
    assert runner.invoke(app, ["train", str(data), "--out", str(root / "run"), "--model", "mobilenet_v3_small",
                               *FAST]).exit_code == 0
    # not openvino-int8: on this random-init model it misses the budget and NNCF's accuracy control took
    # 100 s; tests/test_end_to_end.py checks every INT8 format's unknown decisions on real photos
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


@pytest.mark.parametrize("artifact", ["model.onnx", pytest.param("openvino/model.xml", marks=pytest.mark.openvino)])
def test_classifier_answers_unknown_below_the_threshold(open_set_export, artifact):
    clf = Classifier(open_set_export / "export" / artifact)
    assert clf.threshold is not None
    noise = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    prediction = clf.predict(noise)
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
    rows = [json.loads(line) for line in runner.invoke(infer_app, [model, str(tmp_path), "--json", "--keep", "0.995"])
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
    prediction = clf.predict(photo)
    assert prediction.unknown is False and prediction.score is None and prediction.top == clf.predict(photo).top


def test_combined_score_travels_from_training_to_every_format(tmp_path):
    """--unknown-score cosine+softmax: the manifest names it, the graph computes it, parity checks it."""
    from tests.conftest import make_dataset

    data = make_dataset(tmp_path / "data", 6)
    result = runner.invoke(app, ["train", str(data), "--out", str(tmp_path / "run"), "--model", "mobilenet_v3_small",
                                 "--unknown-score", "cosine+softmax", *FAST])
    assert result.exit_code == 0, result.output
    assert "cosine_plus_softmax_standardised below" in result.output
    result = runner.invoke(app, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "export"), "--format", "onnx",
                                 "--format", "openvino"])
    assert result.exit_code == 0, result.output
    unknown = json.loads((tmp_path / "export" / "manifest.json").read_text())["unknown"]
    assert unknown["score"] == "cosine_plus_softmax_standardised"
    report = {r["name"]: r for r in json.loads((tmp_path / "export" / "export_report.json").read_text())["formats"]}
    assert report["onnx"]["unknown_score_max_abs_diff"] < 1e-3 and report["openvino"]["unknown_score_max_abs_diff"] < 1e-3
    clf = Classifier(tmp_path / "export" / "model.onnx")
    photo = next((data / "daisy").iterdir())
    prediction = clf.predict(photo)
    assert prediction.score is not None and prediction.unknown == (prediction.score < clf.threshold)


def test_combined_score_is_zero_at_the_in_class_means():
    import torch

    from edge.train import openset

    softmax, cosine = torch.tensor([0.9, 0.7, 0.8]), torch.tensor([0.6, 0.8, 0.7])
    standardise = openset.standardiser(softmax, cosine)
    logits = torch.log(torch.tensor([[0.8, 0.2]]))  # max softmax 0.8 = the mean
    assert torch.allclose(openset.combined_score(logits, torch.tensor([0.7]), standardise), torch.zeros(1), atol=1e-6)
    lower = openset.combined_score(logits, torch.tensor([0.5]), standardise)
    assert lower.item() < -1.5  # two standard deviations below in cosine alone


def test_unknown_score_names_agree_between_config_and_graph():
    from edge.train.config import UNKNOWN_SCORES
    from edge.train.openset import SCORES

    assert set(UNKNOWN_SCORES) == set(SCORES)


def test_an_unknown_score_name_is_refused_in_one_line(tmp_path):
    result = runner.invoke(app, ["train", str(tmp_path), "--out", str(tmp_path / "run"), "--unknown-score", "energy"])
    assert result.exit_code != 0 and "--unknown-score must be one of cosine, cosine+softmax" in result.output


@pytest.mark.openvino
def test_int8_leaves_the_score_path_in_float(open_set_export, tmp_path):
    """Quantizing the score clips far-away images up into the in-class range (they were all kept)."""
    import onnx
    import openvino as ov

    from edge.export import score_path

    export = open_set_export / "export"
    graph = onnx.load(str(export / "model.int8.onnx")).graph
    producer = {out: node for node in graph.node for out in node.output}
    assert producer["unknown_score"].op_type != "DequantizeLinear"
    float_nodes = set(score_path.onnx_nodes(export / "model.onnx"))
    assert {"Gemm", "Conv"}.isdisjoint({n.op_type for n in graph.node if n.name in float_nodes})
    quantized = {n.input[0] for n in graph.node if n.op_type == "QuantizeLinear"}
    assert not quantized & {out for n in graph.node if n.name in float_nodes for out in n.output}
    model = ov.Core().read_model(str(_openvino_int8(tmp_path)))
    score_ops = set(score_path.openvino_ops(model))
    assert score_ops
    feeds_score = {op.input_value(i).get_node().get_type_name() for op in model.get_ordered_ops()
                   if op.get_friendly_name() in score_ops for i in range(op.get_input_size())}
    assert "FakeQuantize" not in feeds_score


def _openvino_int8(tmp_path: Path) -> Path:
    """NNCF's first setting on an open-set model (the search's accuracy-control fallback would take minutes)."""
    from edge.export import onnx_fp32, openvino_fp32, openvino_int8
    from tests.conftest import real_photos
    from tests.export.litert_helpers import open_set_job

    by_class = real_photos(4)
    images = [p for paths in by_class.values() for p in paths]
    job = open_set_job(images, [i for i, paths in enumerate(by_class.values()) for _ in paths], tmp_path)
    onnx_fp32.export(job)
    openvino_fp32.export(job)
    return openvino_int8._quantize(job, next(iter(openvino_int8.SETTINGS)), tmp_path / "ov-int8")


def test_a_model_without_a_score_has_no_score_path(tiny_export):
    from edge.export import score_path

    assert score_path.onnx_nodes(tiny_export / "model.onnx") == []


@pytest.mark.parametrize("score", ["cosine", "cosine+softmax"])
def test_a_fine_tuned_model_gets_its_threshold_from_the_held_out_split(tmp_path, score):
    from edge.train.openset import SCORES
    from tests.conftest import make_dataset

    data = make_dataset(tmp_path / "data", 10)
    result = runner.invoke(app, ["train", str(data), "--out", str(tmp_path / "run"), "--model", "mobilenet_v3_small",
                                 "--strategy", "finetune", "--epochs", "1", "--val-fraction", "0.4",
                                 "--no-pretrained", "--image-size", "64", "--batch-size", "8", "--unknown-score", score])
    assert result.exit_code == 0, result.output
    assert "of the 12 held-out photos" in result.output
    unknown = json.loads((tmp_path / "run" / "manifest.json").read_text())["unknown"]
    assert unknown["score"] == SCORES[score] and unknown["photos"] == 12
    result = runner.invoke(app, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "export"), "--format", "onnx"])
    assert result.exit_code == 0, result.output
    clf = Classifier(tmp_path / "export" / "model.onnx")
    assert clf.threshold == pytest.approx(unknown["threshold"])
    prediction = clf.predict(next((data / "daisy").iterdir()))
    assert prediction.score is not None and prediction.unknown == (prediction.score < clf.threshold)


def test_too_few_held_out_photos_give_no_unknown_score(tiny_run):
    assert not json.loads((tiny_run / "manifest.json").read_text()).get("unknown")


def test_readme_python_example_runs_as_written_and_honours_unknown(open_set_export, tmp_path, monkeypatch, capsys):
    """The README's Python block, run as is in a folder laid out as it says."""
    import re
    import shutil

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    shutil.copytree(open_set_export / "export", tmp_path / "exports" / "flowers")
    photos = sorted((open_set_export / "data" / "roses").iterdir())
    shutil.copy(photos[0], tmp_path / "rose.jpg")
    shutil.copy(photos[1], tmp_path / "tulip.jpg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    clf, p = namespace["clf"], namespace["p"]
    assert p.label in clf.labels + ["unknown"] and len(p.top) == 3 and len(namespace["batch"]) == 2
    noise = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    answer = clf.predict(noise)
    assert answer.unknown == (answer.score < clf.threshold) and answer.label == ("unknown" if answer.unknown
                                                                                 else answer.top[0][0])
