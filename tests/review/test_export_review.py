"""edge review EXPORT_DIR --data DIR: the same review through the runtime, plus INT8 vs FP32."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.cli.main import app
from edge.formats import FORMATS
from edge.review.build import review
from edge.runtime import Classifier
from tests.conftest import BLOCK_TORCH, real_photos
from tests.review.helpers import fake_run

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("cleanlab")
pytest.importorskip("imagehash")


@pytest.fixture
def export_copy(tiny_export, tmp_path):
    """A copy: reviewing a folder resolves it as edge-infer does, which tunes it and caches the choice inside."""
    return shutil.copytree(tiny_export, tmp_path / "export")


def test_export_on_a_labelled_folder(export_copy, tiny_data, tmp_path):
    (tiny_data / "not_a_class").mkdir()
    out = tmp_path / "rv"
    result = CliRunner().invoke(app, ["review", str(export_copy), "--data", str(tiny_data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    d = json.loads((out / "review.json").read_text())
    assert d["photos"] == 18 and d["classes"] == ["daisy", "roses", "tulips"]
    assert any("not_a_class" in n for n in d["notes"]) and any("not out-of-fold" in n for n in d["notes"])
    pair = d["int8"]["pairs"][0]
    assert (pair["int8_format"], pair["fp32_format"]) == ("onnx-int8", "onnx") and pair["photos"] == 18
    assert pair["agree"] + len(pair["disagreements"]) == 18
    assert Classifier(export_copy).path.name in d["method"]  # what edge-infer runs here is what is reviewed
    assert sum(map(sum, d["confusion"]["counts"])) == 18


def _fake_litert_files(export) -> None:
    for name in ("tflite", "tflite-int8"):
        (export / FORMATS[name].path).write_bytes(b"TFL3 not a model")


def test_a_torch_free_install_without_litert_reviews_what_it_can_run(export_copy, tiny_data, tmp_path):
    """`pip install 'edge-classifier[openvino,review]'`: no torch, no ai_edge_litert; the folder's tflite
    files are passed over with a note, not loaded (which failed: 'litert models need the ai_edge_litert package')."""
    _fake_litert_files(export_copy)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]), EDGE_TEST_BLOCK="ai_edge_litert")
    code = "import sys; from edge.cli.main import main; main(); assert 'torch' not in sys.modules"
    out = tmp_path / "rv"
    result = subprocess.run([sys.executable, "-c", code, "review", str(export_copy), "--data", str(tiny_data),
                             "--out", str(out)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    d = json.loads((out / "review.json").read_text())
    assert any(n.startswith("not reviewed: skipped tflite-int8, tflite (litert models need the ai_edge_litert")
               for n in d["notes"])
    assert [p["int8_format"] for p in d["int8"]["pairs"]] == ["onnx-int8"]


def test_a_file_given_is_the_file_reviewed(export_copy, tiny_data, tmp_path, monkeypatch):
    from edge.runtime import backends

    _fake_litert_files(export_copy)  # unloadable: reviewing the ONNX file must not touch them
    d = review(source=export_copy / "model.int8.onnx", data=tiny_data, out=tmp_path / "rv", log=lambda *_: None).data
    assert d["method"].startswith("model.int8.onnx (onnxruntime)")
    assert [(p["int8_format"], p["fp32_format"]) for p in d["int8"]["pairs"]] == [("onnx-int8", "onnx")]
    monkeypatch.setattr(backends, "installed", lambda name: name != "openvino")
    d = review(source=export_copy / "model.onnx", data=tiny_data, out=tmp_path / "rv2", log=lambda *_: None).data
    assert d["method"].startswith("model.onnx (onnxruntime)") and d["int8"] is None


def test_training_photos_are_called_agreement_not_accuracy(export_copy, tiny_data, tiny_run, tmp_path):
    """tiny_data holds the very files tiny_run trained on (copies, elsewhere): the review must say so."""
    result = review(source=export_copy, data=tiny_data, out=tmp_path / "rv", log=lambda *_: None)
    split = json.loads((tiny_run / "split.json").read_text())
    seen = result.data["training_photos"]
    assert seen["photos"] == len(split["train"]) and seen["accuracy_on_the_others"]["of"] == len(split["val"])
    assert f"agreement on the {len(split['train'])} training photos among them (not an accuracy)" in result.line()
    assert any("byte-identical to photos" in n and "not accuracy on new photos" in n for n in result.data["notes"])
    new = tmp_path / "new"
    for name, paths in real_photos(8).items():  # photos 7-8 of each class: never in tiny_run
        (new / name).mkdir(parents=True)
        for p in paths[6:]:
            shutil.copy(p, new / name / p.name)
    fresh = review(source=export_copy, data=new, out=tmp_path / "rv-new", log=lambda *_: None)
    assert fresh.data["training_photos"]["photos"] == 0 and "accuracy " in fresh.line()
    assert "agreement" not in fresh.line()


def test_reviews_are_written_beside_the_folder_not_inside(export_copy, tiny_data, tmp_path):
    """`edge export --force` / `edge train --force` replace their folders; a review inside would go with them."""
    before = sorted(p.name for p in export_copy.iterdir())
    result = review(source=export_copy, data=tiny_data, log=lambda *_: None)
    assert result.out == tmp_path / "export.review" / "data" and (result.out / "review.html").is_file()
    assert sorted(p.name for p in export_copy.iterdir() if p.name != ".edge-tune.json") == before
    run, _ = fake_run(tmp_path / "fake", n_per_class=6)
    assert review(source=run, log=lambda *_: None).out == tmp_path / "fake" / "run.review"
    assert not (run / "review").exists()


def test_export_needs_data(tiny_export):
    result = CliRunner().invoke(app, ["review", str(tiny_export)])
    assert result.exit_code == 1 and "--data DIR" in result.output
