"""Check an artifact against the PyTorch model: agreement, logit gap, accuracy, latency."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge.estimate import wilson_interval
from edge.export import imx500_check
from edge.export.torch_backend import TorchBackend
from edge.export_dir import FormatResult
from edge.formats import artifact_files
from edge.runtime.backends import create_backend
from edge.runtime.timing import batch1_latencies_ms


def batched(run: Callable[[np.ndarray], np.ndarray], x: np.ndarray, batch_size: int = 16) -> np.ndarray:
    return np.concatenate([run(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def accuracy(logits: np.ndarray, labels: np.ndarray | None) -> float | None:
    return None if labels is None else float((logits.argmax(1) == labels).mean())


def compare(logits: np.ndarray, ref: np.ndarray, labels: np.ndarray | None) -> dict:
    """An artifact's logits against PyTorch's (`ref`) on the same photos (`labels`: None without labels)."""
    acc, ref_acc = accuracy(logits, labels), accuracy(ref, labels)
    agree = int((logits.argmax(1) == ref.argmax(1)).sum())
    return {
        "top1_agreement": agree / len(ref),
        "top1_agreement_ci95": [round(v, 4) for v in wilson_interval(agree, len(ref))],
        "max_abs_logit_diff": float(np.abs(logits - ref).max()),
        "accuracy": acc,
        "accuracy_drop": None if acc is None else round(100.0 * (ref_acc - acc), 3),  # points
    }


VOUCH = 0.95  # an agreement whose 95% interval reaches below this, and above it, is not measured well enough


def too_few_photos(row: dict) -> str | None:
    """The warning for figures (compare()'s) whose check photos cannot tell a sound format from a broken one (2
    photos at 100%: 95% CI 34-100%), else None. An interval wholly below VOUCH is a real disagreement, not too few."""
    low, high = row["top1_agreement_ci95"]
    if low >= VOUCH or high < VOUCH:
        return None
    return (f"too few check photos to vouch for this format: agreement {row['top1_agreement']:.0%} could be as low "
            f"as {low:.0%} (95% CI); check on more labelled photos (a smaller --calibration-size, or more photos)")


def agreement_text(row: FormatResult) -> str:
    """'100.00% (95% CI 34-100%)': agreement is never printed without its interval."""
    low, high = row.top1_agreement_ci95
    return f"{row.top1_agreement:.2%} (95% CI {100 * low:.0f}-{100 * high:.0f}%)"


def latency_ms(run: Callable[[np.ndarray], np.ndarray], sample: np.ndarray, repeats: int = 50) -> float:
    """Median batch-1 latency after a warm-up."""
    return float(np.median(batch1_latencies_ms(run, sample, repeats)))


def size_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in artifact_files(path)) / 1e6, 3)


def load_backend(backend: str, path: Path, threads: int):
    """The artifact behind the runtime's Backend interface (OpenVINO FP32 runs at f32, see backends)."""
    if backend == "torch":
        return TorchBackend.from_torchscript(path, threads)
    if backend == "imx500":  # runs on a camera's sensor: checked as its quantized ONNX with MCT's ops
        return imx500_check.load(path, threads)
    return create_backend(path, backend, threads)


def batched_all(run_all, x: np.ndarray, batch_size: int = 16) -> list[np.ndarray]:
    """Every output of a multi-output model over x, in batches."""
    parts = [run_all(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    return [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]


def logits_and_scores(run_all, val_x: np.ndarray, unknown_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logits on the photos, unknown scores on the photos and the non-photos: one pass over both."""
    logits, scores = batched_all(run_all, np.concatenate([val_x, unknown_x]))[:2]
    return logits[: len(val_x)], scores


def compare_unknown(scores: np.ndarray, reference: np.ndarray, threshold: float) -> dict:
    """How the artifact's unknown score and decision match PyTorch's, on in-class and synthetic inputs."""
    agree = float(((scores < threshold) == (reference < threshold)).mean())
    return {"unknown_score_max_abs_diff": float(np.abs(scores - reference).max()), "unknown_decision_agreement": agree}
