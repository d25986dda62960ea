"""ncnn (pnnx from a TorchScript trace) against PyTorch: both outputs, FP32 exact with FP16 arithmetic off."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pnnx", reason="needs the pnnx extra: pip install -e '.[pnnx]'")
pytest.importorskip("ncnn", reason="needs the ncnn extra: pip install -e '.[ncnn]'")

from edge.export import ncnn, parity  # noqa: E402
from edge.formats import artifact_files  # noqa: E402
from tests.conftest import real_photos  # noqa: E402
from tests.export.litert_helpers import open_set_job  # noqa: E402


def test_ncnn_matches_pytorch_on_both_outputs(tmp_path):
    by_class = real_photos(4)
    images = [p for paths in by_class.values() for p in paths]
    labels = [i for i, paths in enumerate(by_class.values()) for _ in paths]
    job = open_set_job(images, labels, tmp_path / "export")
    path = ncnn.export(job)
    assert [p.name for p in artifact_files(path)] == ["model.ncnn.param", "model.ncnn.bin"]
    assert not (tmp_path / "export" / ".pnnx").exists()
    for precision in ("f32", None):  # forced FP32, and ncnn's own default (FP16 only where the CPU has it)
        backend = parity.load_backend("ncnn", path, 2)
        backend.precision = precision
        logits, scores = parity.logits_and_scores(backend.load().run_all, job.val_x, job.unknown_x)
        assert parity.compare(logits, job.reference_logits, job.val_y)["top1_agreement"] == 1.0
        assert np.abs(logits - job.reference_logits).max() <= 1e-3
        assert np.abs(scores - job.reference_unknown).max() <= 1e-3
