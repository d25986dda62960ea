"""`edge export` end to end on a tiny run: files, report shape, embedded manifests, bad input."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from edge.cli.main import app
from edge.manifest import Manifest, read_manifest
from edge.runtime.backends import create_backend, load_manifest_text

runner = CliRunner()
REPORT_KEYS = {"name", "path", "top1_agreement", "max_abs_logit_diff", "accuracy", "accuracy_drop", "size_mb",
               "export_seconds"}


def test_export_folder_and_report(tiny_export, tiny_run):
    for name in ("model.onnx", "model.int8.onnx", "openvino/model.xml", "openvino/model.bin", "manifest.json",
                 "labels.txt", "export_report.json"):
        assert (tiny_export / name).is_file(), name
    report = json.loads((tiny_export / "export_report.json").read_text())
    rows = {row["name"]: row for row in report["formats"]}
    assert set(rows) == {"onnx", "onnx-int8", "openvino"}
    for row in rows.values():
        assert REPORT_KEYS <= set(row)
        assert 0.0 <= row["top1_agreement"] <= 1.0 and row["size_mb"] > 0
    for fp32 in ("onnx", "openvino"):
        assert rows[fp32]["top1_agreement"] == 1.0 and rows[fp32]["max_abs_logit_diff"] <= 1e-3
    assert "slower_than_fp32" in rows["onnx-int8"]
    assert (tiny_export / "labels.txt").read_text().split() == ["daisy", "roses", "tulips"]
    from edge.hashing import file_sha256

    exported = read_manifest(tiny_export / "manifest.json")
    assert exported.source_sha256 == file_sha256(tiny_run / "checkpoint.pt")  # points at its checkpoint
    assert exported.with_updates(source_sha256="") == read_manifest(tiny_run / "manifest.json").with_updates(
        source_sha256="")
    assert not [p for p in tiny_export.parent.iterdir() if p.name.startswith(".")]  # no temp dirs left


@pytest.mark.parametrize("artifact,precision", [("model.onnx", "fp32"), ("model.int8.onnx", "int8"),
                                                pytest.param("openvino/model.xml", "fp32", marks=pytest.mark.openvino)])
def test_every_artifact_carries_its_manifest(tiny_export, artifact, precision):
    backend = create_backend(tiny_export / artifact)
    text, where = load_manifest_text(backend)
    assert "embedded" in where
    embedded = Manifest.from_json(text)
    assert embedded.precision == precision
    assert embedded.with_updates(precision="fp32") == read_manifest(tiny_export / "manifest.json")


def test_torchscript_carries_manifest(tiny_run, tmp_path):
    from edge.export.pipeline import export

    export(source=str(tiny_run), out=tmp_path / "ts", formats=["torchscript"], log=lambda *_: None)
    extra = {"manifest.json": ""}
    torch.jit.load(str(tmp_path / "ts" / "model.ts"), _extra_files=extra)
    assert Manifest.from_json(extra["manifest.json"]).labels == ("daisy", "roses", "tulips")


def _export(*args):
    return runner.invoke(app, ["export", *args])


def test_bad_inputs_are_one_line_errors(tiny_run, tmp_path):
    cases = {
        "not found": [str(tmp_path / "nope"), "--out", str(tmp_path / "o")],
        "unknown format 'tflite-fp64'": [str(tiny_run), "--out", str(tmp_path / "o"), "--format", "tflite-fp64"],
    }
    (tmp_path / "trunc.pt").write_bytes((tiny_run / "checkpoint.pt").read_bytes()[:1000])
    cases["not a readable checkpoint"] = [str(tmp_path / "trunc.pt"), "--out", str(tmp_path / "o")]
    torch.save({"a": torch.zeros(1)}, tmp_path / "foreign.pt")
    cases["foreign"] = [str(tmp_path / "foreign.pt"), "--out", str(tmp_path / "o")]
    (tmp_path / "file").write_text("x")
    cases["cannot create the output folder"] = [str(tiny_run), "--out", str(tmp_path / "file" / "sub" / "o")]
    for expected, args in cases.items():
        result = _export(*args)
        assert result.exit_code == 1, (expected, result.output)
        assert expected in result.output and "Traceback" not in result.output


def test_failed_export_keeps_the_previous_folder(tiny_run, tmp_path, monkeypatch):
    from edge.export.exporters import EXPORTERS

    out = tmp_path / "export"
    out.mkdir()
    for name in ("model.onnx", "manifest.json", "export_report.json"):  # an earlier export
        (out / name).write_text("previous")

    def boom(job):
        raise RuntimeError("converter crashed")

    monkeypatch.setitem(EXPORTERS, "onnx", boom)
    result = _export(str(tiny_run), "--out", str(out), "--format", "onnx", "--force")
    assert result.exit_code == 1 and "onnx export failed: RuntimeError: converter crashed" in result.output
    assert (out / "model.onnx").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_zoo_imagenet_export_keeps_pytorch_top5(tmp_path):
    """The pretrained Lite0 with its ImageNet head: same top-5 on a real photo after export."""
    skimage_data = pytest.importorskip("skimage.data")
    from PIL import Image

    from edge.export.pipeline import export
    from edge.runtime import Classifier
    from edge.train.classify import classify_imagenet

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(skimage_data.chelsea()).save(photos / "chelsea.png")
    export(source="zoo:efficientnet_lite0", out=tmp_path / "zoo", formats=["onnx"], data=photos, log=lambda *_: None)
    torch_top5 = classify_imagenet(photos / "chelsea.png", "efficientnet_lite0", None)
    onnx_top5 = Classifier(tmp_path / "zoo" / "model.onnx").predict(photos / "chelsea.png", k=5).top
    assert [label for label, _ in onnx_top5] == [label for label, _ in torch_top5]
    assert "cat" in torch_top5[0][0]
    for (_, p1), (_, p2) in zip(onnx_top5, torch_top5):
        assert abs(p1 - p2) < 1e-4
