"""End-of-run report: per-class accuracy, confusion matrix and training curves."""

from __future__ import annotations

from collections.abc import Callable
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


def plot_confusion(matrix: np.ndarray, classes: list[str], path: Path, title: str) -> None:
    """Counts and row percentages (recall), so a 3-photo cell reads as 3 of 24, not as a colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = np.maximum(matrix.sum(1, keepdims=True), 1)
    share = matrix / rows
    fig, ax = plt.subplots(figsize=(1.6 + 0.9 * len(classes), 1.2 + 0.8 * len(classes)))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(classes)):
        for j in range(len(classes)):
            color = "white" if share[i, j] > 0.5 else "black"
            ax.text(j, i, f"{matrix[i, j]}\n{share[i, j]:.0%}", ha="center", va="center", color=color, fontsize=8)
    ax.set_title(title, fontsize=9)
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


def plot_cv(scores: dict[str, float], chosen: str, photos: int, estimate: dict, path: Path) -> None:
    """What a person needs from the head's cross-validation: the honest estimate with its interval, and
    the settings it chose among (selection figures, each with its own interval, the chosen one marked)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edge.estimate import wilson_interval

    names = list(scores)
    accs = [100 * scores[n] for n in names]
    # The interval of the score itself (a mean over folds, not a whole count): never beside its point.
    bounds = [wilson_interval(scores[n] * photos, photos) for n in names]
    errors = [[max(0.0, a - 100 * lo) for a, (lo, _) in zip(accs, bounds)],
              [max(0.0, 100 * hi - a) for a, (_, hi) in zip(accs, bounds)]]
    fig, ax = plt.subplots(figsize=(8, 0.8 + 0.45 * (len(names) + 1)))
    ax.errorbar(accs, range(len(names)), xerr=errors, fmt="o", color="tab:blue", capsize=3)
    best = names.index(chosen)
    ax.scatter([accs[best]], [best], s=120, facecolors="none", edgecolors="black", zorder=3,
               label="chosen: the best CV accuracy")
    _draw_estimate(ax, estimate, len(names))
    ax.set_yticks([*range(len(names)), len(names)], [*names, "estimate"], fontsize=8)
    ax.set_xlabel(f"accuracy (%) on {photos} photos, 95% intervals")
    low = min([*accs, 100 * estimate["estimated_accuracy_ci95"][0]])
    ax.set_xlim(max(0, low - 5), 100)  # a window wider than the intervals: one photo is no cliff
    ax.set_title(f"estimated accuracy on unseen photos {100 * estimate['estimated_accuracy']:.1f}% "
                 f"({estimate['estimate_method']}); head settings are selection figures", fontsize=9)
    ax.legend(loc="lower right", fontsize=8)  # the points sit near the top of the range, the legend clear of them
    _savefig(fig, path)
    plt.close(fig)


def _draw_estimate(ax, estimate: dict, row: int) -> None:
    acc = 100 * estimate["estimated_accuracy"]
    low, high = (100 * v for v in estimate["estimated_accuracy_ci95"])
    ax.errorbar([acc], [row], xerr=[[acc - low], [high - acc]], fmt="D", color="tab:green", capsize=3,
                label="estimate (no decision saw these photos)")


def draw_pictures(draw: dict[str, Callable[[], None]], warn: Callable[[str], None]) -> None:
    """Draw each picture after the run is saved; one that fails is a warning, never a failed run."""
    for name, paint in draw.items():
        try:
            paint()
        except Exception as exc:  # matplotlib raises ValueError, RuntimeError, OSError ...
            warn(f"warning: {name} not drawn ({type(exc).__name__}: {str(exc)[:120]}); the run is saved")
