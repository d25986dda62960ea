"""TFLite FP32 and INT8 (litert-torch) against PyTorch: both outputs, the manifest inside, torch-free runtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("litert_torch", reason="needs the litert extra: pip install -e '.[litert]'")

from edge.export import parity, tflite_fp32, tflite_int8  # noqa: E402
from tests.conftest import BLOCK_TORCH, real_photos  # noqa: E402
from tests.export.litert_helpers import open_set_job, outputs  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fp32(tmp_path_factory):
    by_class = real_photos(8)
    images = [p for paths in by_class.values() for p in paths]
    labels = [i for i, paths in enumerate(by_class.values()) for _ in paths]
    job = open_set_job(images, labels, tmp_path_factory.mktemp("tflite"))
    return job, tflite_fp32.export(job)


def test_tflite_matches_pytorch_on_both_outputs(fp32):
    job, path = fp32
    logits, scores = outputs("litert", path, job)
    assert parity.compare(logits, job.reference_logits, job.val_y)["top1_agreement"] == 1.0
    assert np.abs(logits - job.reference_logits).max() <= 1e-4
    assert scores.shape == job.reference_unknown.shape and np.abs(scores - job.reference_unknown).max() <= 1e-4


def test_manifest_is_inside_the_flatbuffer(fp32):
    job, path = fp32
    backend = parity.load_backend("litert", path, 1)
    assert json.loads(backend.embedded_manifest()) == json.loads(job.manifest.to_json())
    assert backend.output_count() == 2


def test_tflite_int8_search_keeps_the_score_in_float(fp32):
    job, _ = fp32
    path = tflite_int8.export(job)
    notes = job.notes["tflite-int8"]
    assert notes["settings"] in {s.name for s in tflite_int8.SETTINGS}
    assert all(not row["within_budget"] for row in notes["candidates"][:-1])  # best-first, as for ONNX/OpenVINO
    logits, scores = outputs("litert", path, job)
    assert parity.compare(logits, job.reference_logits, job.val_y)["top1_agreement"] >= 0.98
    # noise lies far below the in-class scores: a quantized score path would clip it up into their range
    far = slice(len(job.val_x), None)
    assert np.abs(scores[far] - job.reference_unknown[far]).max() < 0.05
    backend = parity.load_backend("litert", path, 1)
    assert json.loads(backend.embedded_manifest())["precision"] == "int8"
    # full-integer inside, float at the ends: int8 input, the classifier and both outputs float (not clipped)
    assert backend.input_detail["dtype"] == np.int8
    assert all(d["dtype"] == np.float32 for d in backend.output_details.values())
    assert path.stat().st_size < 0.5 * fp32[1].stat().st_size


def test_litert_runtime_runs_without_torch(fp32):
    job, path = fp32
    np.save(path.with_suffix(".npy"), job.val_x[:2])
    code = ("import sys, numpy as np; from edge.runtime.backends import create_backend; "
            f"b = create_backend({str(path)!r}, threads=1); out = b.run_all(np.load({str(path.with_suffix('.npy'))!r})); "
            "assert 'torch' not in sys.modules; print(out[0].shape, out[1].shape)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BLOCK_TORCH), str(ROOT)]))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(2, 3) (2,)"
