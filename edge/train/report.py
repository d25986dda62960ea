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
    """Loss and held-out accuracy per epoch of the SGD phase; the kept (last) epoch is marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    epochs = [h["epoch"] for h in history]
    accs = [100 * h["val_accuracy"] for h in history]
    ax_loss.plot(epochs, [h["loss"] for h in history], marker=".", color="tab:blue")
    ax_acc.plot(epochs, accs, marker=".", color="tab:green")
    ax_acc.scatter([epochs[-1]], [accs[-1]], s=90, facecolors="none", edgecolors="black", zorder=3,
                   label="kept: the last epoch (none is picked on these photos)")
    ax_loss.set(xlabel=f"{history[0]['phase']} epoch", ylabel="train loss")
    ax_acc.set(xlabel=f"{history[0]['phase']} epoch", ylabel="held-out accuracy (%)", ylim=(0, 100))
    ax_acc.legend(loc="lower right", fontsize=8)
    _savefig(fig, path)
    plt.close(fig)


def plot_cv(scores: dict[str, float], chosen: str, photos: int, path: Path) -> None:
    """Cross-validated accuracy of every head setting, with 95 % intervals; the chosen one marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edge.estimate import wilson_interval

    names = list(scores)
    accs = [100 * scores[n] for n in names]
    bounds = [wilson_interval(round(scores[n] * photos), photos) for n in names]
    low = [a - 100 * lo for a, (lo, _) in zip(accs, bounds)]
    high = [100 * hi - a for a, (_, hi) in zip(accs, bounds)]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.errorbar(range(len(names)), accs, yerr=[low, high], fmt="o", color="tab:blue", capsize=3)
    best = names.index(chosen)
    ax.scatter([best], [accs[best]], s=120, facecolors="none", edgecolors="black", zorder=3, label="chosen")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"{photos}-photo CV accuracy (%)")
    ax.set_ylim(max(0, min(accs) - 10), min(100, max(accs) + 6))  # a 10-point window: one photo is no cliff
    ax.set_title("head settings by cross-validation (selection figures, 95% intervals)")
    ax.legend(loc="lower right", fontsize=8)
    _savefig(fig, path)
    plt.close(fig)
