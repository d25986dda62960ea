"""End-of-run report: per-class accuracy, confusion matrix and training curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.atomic import atomic_path


def confusion_matrix(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, pred), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray, classes: list[str]) -> dict[str, float]:
    totals = matrix.sum(1)
    return {c: float(matrix[i, i] / totals[i]) if totals[i] else 0.0 for i, c in enumerate(classes)}


def _savefig(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")


def plot_confusion(matrix: np.ndarray, classes: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.2 + 0.7 * len(classes), 1 + 0.7 * len(classes)))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(classes)):
        for j in range(len(classes)):
            color = "white" if matrix[i, j] > matrix.max() / 2 else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=color)
    ax.set_title("validation confusion matrix")
    _savefig(fig, path)
    plt.close(fig)


def plot_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    for phase in dict.fromkeys(h["phase"] for h in history):
        rows = [h for h in history if h["phase"] == phase]
        epochs = [h["epoch"] for h in rows]
        ax_loss.plot(epochs, [h["loss"] for h in rows], marker=".", label=f"{phase} train loss")
        ax_acc.plot(epochs, [h["val_accuracy"] for h in rows], marker=".", label=f"{phase} val accuracy")
    ax_loss.set_xlabel("epoch")
    ax_acc.set_xlabel("epoch")
    ax_loss.legend()
    ax_acc.legend()
    _savefig(fig, path)
    plt.close(fig)
