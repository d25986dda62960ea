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


def test_agreement_prints_its_interval_and_warns_when_too_few_photos(tiny_run, tmp_path):
    """18 check photos at 100% agreement: 95% CI 82-100%, too few to vouch for the format; said so."""
    out = tmp_path / "few"
    result = runner.invoke(app, ["export", str(tiny_run), "--out", str(out), "--format", "onnx"], terminal_width=200)
    assert result.exit_code == 0, result.output
    row = json.loads((out / "export_report.json").read_text())["formats"][0]
    low, high = row["top1_agreement_ci95"]
    assert f"(95% CI {100 * low:.0f}-{100 * high:.0f}%)" in result.output
    assert row["parity_warning"] and "too few check photos to vouch for this format" in result.output
    assert "18 check photos are too few to vouch for onnx" in result.output


def test_too_few_photos_is_about_width_not_disagreement():
    from edge.estimate import wilson_interval
    from edge.export.parity import too_few_photos

    def row(agree, n):
        return {"top1_agreement": agree / n, "top1_agreement_ci95": list(wilson_interval(agree, n))}

    assert too_few_photos(row(2, 2)) and too_few_photos(row(18, 18))
    assert too_few_photos(row(600, 600)) is None  # 95% CI 99.4-100%
    assert too_few_photos(row(300, 600)) is None  # measured well enough: a real disagreement, shown as such


def test_a_second_export_to_the_same_folder_at_once_is_refused(tiny_run, tmp_path):
    """The first export holds OUT.lock; the second says so in one line, exits 1 and leaves the folder alone."""
    from edge.export.lock import destination_lock

    out = tmp_path / "exports" / "tiny"
    with destination_lock(out) as lock:
        assert lock == tmp_path / "exports" / "tiny.lock"
        result = _export(str(tiny_run), "--out", str(out), "--format", "onnx")
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert f"{out}: another edge export is writing this folder now" in result.output
        assert not out.exists()
    assert not lock.exists()  # released and removed: the next export goes ahead
    with destination_lock(out):
        pass


def test_a_run_folder_as_out_suggests_a_folder_outside_every_run(tiny_run, tmp_path, monkeypatch):
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_run, tmp_path / "runs" / "tiny")
    result = _export(str(tiny_run), "--out", "runs/tiny")
    assert result.exit_code == 1 and "is a training run" in result.output
    assert "--out exports/tiny" in result.output and "runs/tiny/export" not in result.output
