"""The Classifier API on a tiny exported model."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edge.errors import EdgeError
from edge.formats import FORMATS
from edge.runtime import Classifier
from edge.runtime.classifier import softmax


def test_predict_path_pil_bgr_and_bytes_agree(tiny_export, tiny_data):
    clf = Classifier(tiny_export / "model.onnx")
    path = next((tiny_data / "daisy").iterdir())
    img = Image.open(path).convert("RGB")
    by_path = clf.predict(path, k=3).top
    assert [lbl for lbl, _ in by_path] != [] and abs(sum(p for _, p in by_path) - 1.0) < 1e-5
    assert clf.predict(img, k=3).top == by_path
    assert clf.predict(np.asarray(img)[:, :, ::-1], k=3).top == by_path  # OpenCV BGR frame
    assert clf.predict(path.read_bytes(), k=3).top == by_path
    assert [p for _, p in by_path] == sorted((p for _, p in by_path), reverse=True)


@pytest.fixture
def export_copy(tiny_export, tmp_path):
    """A copy: resolving a folder tunes it, and the tuned choice is cached inside."""
    import shutil

    return shutil.copytree(tiny_export, tmp_path / "export")


def _cache_choice(export, fmt: str, threads: int) -> None:
    """A valid, settled tune cache naming `fmt` at `threads` as the fastest here."""
    import dataclasses
    import json

    from edge.runtime import autotune

    key = autotune.cache_key(export, autotune.usable(export))
    timings = (autotune.Timing(fmt, threads, (1.0,)), autotune.Timing("onnx", 2, (5.0,)))
    choice = autotune.TuneChoice(fmt, FORMATS[fmt].path, threads, 1.0, 2, key, 4.0, 1, timings)
    autotune.cache_path(export).write_text(json.dumps(dataclasses.asdict(choice)))


@pytest.mark.openvino
def test_classifier_and_edge_infer_resolve_a_folder_alike(export_copy, tiny_data):
    """One rule: the Python API runs the folder's tuned choice (artifact and threads), as edge-infer does."""
    from typer.testing import CliRunner

    from edge.cli.infer import app

    _cache_choice(export_copy, "openvino", 1)  # not the table's first (model.int8.onnx)
    clf = Classifier(export_copy)
    assert clf.path == export_copy / "openvino" / "model.xml" and clf.backend.threads == 1
    result = CliRunner().invoke(app, [str(export_copy), str(tiny_data / "daisy")])
    assert result.exit_code == 0, result.output
    assert f"model: {clf.path} (openvino, fp32, 1 thread" in result.output


def test_a_folder_is_tuned_on_first_use_with_a_line_first(export_copy, monkeypatch, capsys):
    from edge.runtime import autotune, resolve

    monkeypatch.setattr(resolve, "TUNE_SECONDS", 0.02)
    clf = Classifier(export_copy)
    err = capsys.readouterr().err
    assert err.startswith(f"tuning {export_copy}: timing 3 artifact(s)")
    assert clf.path == export_copy / FORMATS[autotune.cached(export_copy).fastest().format].path


@pytest.mark.openvino
def test_backend_with_a_folder_runs_the_folders_artifact_for_it(export_copy):
    """--backend openvino: the folder's OpenVINO IR (INT8 first), not model.int8.onnx read by OpenVINO."""
    import shutil

    assert Classifier(export_copy, backend="openvino").path == export_copy / "openvino" / "model.xml"
    from edge.runtime.resolve import resolve_model

    shutil.copytree(export_copy / "openvino", export_copy / "openvino-int8")
    assert resolve_model(export_copy, backend="openvino").path == export_copy / "openvino-int8" / "model.xml"
    assert resolve_model(export_copy, backend="onnxruntime").path == export_copy / "model.int8.onnx"
    with pytest.raises(EdgeError, match="holds no litert artifact"):
        Classifier(export_copy, backend="litert")


def test_torchscript_says_why_it_does_not_run(export_copy, tiny_data):
    """model.ts needs torch, which the runtime never imports (lint-imports' no-torch contract)."""
    from typer.testing import CliRunner

    from edge.cli.infer import app

    (export_copy / "model.ts").write_bytes(b"PK not really torchscript")
    result = CliRunner().invoke(app, [str(export_copy / "model.ts"), str(tiny_data / "daisy")])
    assert result.exit_code == 1 and "unknown model type" not in result.output
    assert "TorchScript needs torch" in result.output and str(export_copy / "model.onnx") in result.output


def test_sidecar_manifest_and_explicit_manifest(tiny_export, tmp_path):
    import shutil

    import onnx

    model = onnx.load(str(tiny_export / "model.onnx"))
    del model.metadata_props[:]
    bare = tmp_path / "bare" / "model.onnx"
    bare.parent.mkdir()
    onnx.save(model, str(bare))
    with pytest.raises(EdgeError, match="no manifest"):
        Classifier(bare)
    assert Classifier(bare, manifest=tiny_export / "manifest.json").labels == ["daisy", "roses", "tulips"]
    shutil.copy(tiny_export / "manifest.json", bare.parent / "manifest.json")
    assert Classifier(bare).labels == ["daisy", "roses", "tulips"]


@pytest.mark.openvino
def test_openvino_backend_reads_its_rt_info(tiny_export):
    clf = Classifier(tiny_export / "openvino" / "model.xml")
    assert clf.backend.name == "openvino" and clf.labels == ["daisy", "roses", "tulips"]


def test_onnxruntime_spin_wait_is_a_session_option(tiny_export):
    def spinning(clf: Classifier) -> str:
        options = clf.backend.session.get_session_options()
        return options.get_session_config_entry("session.intra_op.allow_spinning")

    assert spinning(Classifier(tiny_export / "model.onnx", spin_wait=False)) == "0"
    quiet, busy = Classifier(tiny_export / "model.onnx", spin_wait=False), Classifier(tiny_export / "model.onnx")
    x = np.stack([np.zeros(quiet.manifest.input_size, np.float32)] * 2)
    np.testing.assert_allclose(quiet.logits(x), busy.logits(x), atol=1e-6)


@pytest.mark.openvino
def test_openvino_compiles_each_batch_shape_statically(tiny_export):
    """Static shapes per batch size: same logits as one image at a time, caller's array untouched."""
    backend = Classifier(tiny_export / "openvino" / "model.xml").backend
    _, h, w = backend.input_dims
    x = np.random.default_rng(0).standard_normal((7, 3, h, w)).astype(np.float32)
    before = x.copy()
    batched = np.concatenate([backend.run(x[:4]), backend.run(x[4:])])
    single = np.concatenate([backend.run(x[i : i + 1]) for i in range(7)])
    np.testing.assert_allclose(batched, single, atol=1e-4)
    assert np.array_equal(x, before)
    assert set(backend.requests) == {(1, 3, h, w), (4, 3, h, w), (3, 3, h, w)}
    for n in range(5, 5 + backend.MAX_SHAPES):
        backend.run(x[:1].repeat(n, axis=0))
    assert len(backend.requests) == backend.MAX_SHAPES
    with pytest.raises(EdgeError, match="does not fit"):
        backend.run(np.zeros((1, 3, h + 8, w), np.float32))


def test_bad_artifacts(tmp_path):
    with pytest.raises(EdgeError, match="not found"):
        Classifier(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(EdgeError, match="cannot load"):
        Classifier(tmp_path / "junk.onnx")
    (tmp_path / "m.pb").write_bytes(b"x")
    with pytest.raises(EdgeError, match="unknown model type"):
        Classifier(tmp_path / "m.pb")


def test_softmax_is_stable():
    probs = softmax(np.array([[1000.0, 0.0, -1000.0]]))
    assert np.isfinite(probs).all() and abs(probs.sum() - 1) < 1e-6
