"""The Classifier API on a tiny exported model."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edge.errors import EdgeError
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


def test_export_folder_resolves_to_an_artifact(tiny_export):
    assert Classifier(tiny_export).path.name == "model.int8.onnx"


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
