"""Per-class precision, recall and F1 with 95 % intervals, and the confusion matrix."""

from __future__ import annotations

import numpy as np

from edge.estimate import wilson_interval

BOOTSTRAP = 2000  # resamples for F1's interval (F1 is no proportion, so Wilson does not apply)


def confusion(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Rows: given label; columns: predicted."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def proportion(hits: int, total: int) -> dict:
    low, high = wilson_interval(hits, total)
    return {"value": round(hits / total, 4) if total else 0.0, "ci95": [round(low, 4), round(high, 4)],
            "hits": hits, "of": total}


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros(np.shape(tp), dtype=float), where=denom > 0)


def f1_interval(labels: np.ndarray, predicted: np.ndarray, c: int, seed: int = 0) -> list[float]:
    """Percentile bootstrap over photos (seeded: the same run gives the same interval)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(labels), (BOOTSTRAP, len(labels)))
    true, pred = labels[idx] == c, predicted[idx] == c
    f1 = _f1((true & pred).sum(1), (~true & pred).sum(1), (true & ~pred).sum(1))
    return [round(float(np.quantile(f1, 0.025)), 4), round(float(np.quantile(f1, 0.975)), 4)]


def per_class(labels: np.ndarray, predicted: np.ndarray, classes: list[str]) -> list[dict]:
    matrix = confusion(labels, predicted, len(classes))
    rows = []
    for c, name in enumerate(classes):
        tp, fp, fn = int(matrix[c, c]), int(matrix[:, c].sum() - matrix[c, c]), int(matrix[c].sum() - matrix[c, c])
        f1 = float(_f1(np.array(tp), np.array(fp), np.array(fn)))
        rows.append({"class": name, "photos": int(matrix[c].sum()), "predicted": int(matrix[:, c].sum()),
                     "precision": proportion(tp, tp + fp), "recall": proportion(tp, tp + fn),
                     "f1": {"value": round(f1, 4), "ci95": f1_interval(labels, predicted, c),
                            "ci_method": f"percentile bootstrap, {BOOTSTRAP} resamples"}})
    return rows
