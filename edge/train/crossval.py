"""Cross-validation on cached features: settings chosen, and accuracy estimated, without peeking.

`choose` picks a head setting by k-fold CV on the photos it is given. `nested` wraps that in an
outer k-fold loop: each outer fold's photos are predicted by a head whose setting was chosen, and
whose weights were fit, on the other folds alone. Its pooled accuracy is therefore an estimate no
decision looked at (Varma & Simon 2006: the plain CV score of the chosen setting is optimistic).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

from edge.train import linear_head


@dataclass
class FeatureBank:
    """Frozen-backbone features of every labelled photo."""

    center: torch.Tensor  # (N, D): the deployed view (resize + center crop)
    flipped: torch.Tensor  # (N, D): its mirror image
    augmented: torch.Tensor  # (N, V, D): random crops/flips/colour jitter
    labels: torch.Tensor  # (N,)
    num_classes: int

    def training_rows(self, idx: np.ndarray, views: int) -> tuple[torch.Tensor, torch.Tensor]:
        t = torch.as_tensor(idx)
        parts = [self.center[t], self.flipped[t]] + [self.augmented[t, v] for v in range(views)]
        return torch.cat(parts), self.labels[t].repeat(len(parts))


@dataclass(frozen=True)
class Setting:
    l2: float  # L2 strength of the logistic-regression head
    views: int  # augmented views per photo added to its centre and mirrored views

    def describe(self) -> str:
        return f"l2={self.l2:g}" + (f", {self.views} augmented views" if self.views else "")


def grid(max_views: int) -> list[Setting]:
    strengths = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
    views = sorted({0, max_views})
    return [Setting(l2, v) for v in views for l2 in strengths]


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """k disjoint index arrays, each with the same share of every class (as far as counts allow)."""
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for c in np.unique(labels):
        members = [int(i) for i in np.flatnonzero(labels == c)]
        rng.shuffle(members)
        for j, i in enumerate(members):
            folds[(offset + j) % k].append(i)
        offset += len(members)  # the next class starts where this one stopped: folds stay balanced
    return [np.array(sorted(f), dtype=np.int64) for f in folds]


def fit(bank: FeatureBank, idx: np.ndarray, s: Setting) -> linear_head.LinearHead:
    x, y = bank.training_rows(idx, s.views)
    return linear_head.fit(x, y, bank.num_classes, s.l2)


def held_out_logits(bank: FeatureBank, idx: np.ndarray, settings: list[Setting], k: int,
                    seed: int) -> dict[Setting, torch.Tensor]:
    """Per setting: logits of every photo in `idx` from a head fit on the other folds of `idx`."""
    out = {s: torch.empty(len(idx), bank.num_classes) for s in settings}
    labels = bank.labels[torch.as_tensor(idx)].numpy()
    for fold in stratified_folds(labels, k, seed):
        if len(fold) == 0:
            continue
        train, test = idx[np.setdiff1d(np.arange(len(idx)), fold)], bank.center[torch.as_tensor(idx[fold])]
        for views in sorted({s.views for s in settings}):
            path = [s for s in settings if s.views == views]
            x, y = bank.training_rows(train, views)
            for s, head in zip(path, linear_head.fit_path(x, y, bank.num_classes, [s.l2 for s in path])):
                out[s][torch.as_tensor(fold)] = head.logits(test)
    return out


def _score(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """(accuracy, -log loss): higher is better for both."""
    accuracy = (logits.argmax(1) == labels).float().mean().item()
    return accuracy, -torch.nn.functional.cross_entropy(logits, labels).item()


def choose(bank: FeatureBank, idx: np.ndarray, settings: list[Setting], k: int, seed: int) -> tuple[Setting, dict]:
    """The setting with the best k-fold accuracy on `idx` (log loss breaks ties); its scores per setting."""
    labels = bank.labels[torch.as_tensor(idx)]
    scores = {s: _score(logits, labels) for s, logits in held_out_logits(bank, idx, settings, k, seed).items()}
    best = max(settings, key=lambda s: scores[s])
    return best, {s.describe(): round(scores[s][0], 4) for s in settings}


@dataclass
class NestedResult:
    logits: torch.Tensor  # (N, C): every photo predicted by a head that never saw it
    fold_accuracy: list[float]
    fold_settings: list[str]


def nested(bank: FeatureBank, settings: list[Setting], *, k_outer: int, k_inner: int, seed: int,
           progress=None) -> NestedResult:
    n = len(bank.labels)
    logits = torch.empty(n, bank.num_classes)
    accs, chosen = [], []
    for fold in stratified_folds(bank.labels.numpy(), k_outer, seed + 1):
        train = np.setdiff1d(np.arange(n), fold)
        best, _ = choose(bank, train, settings, k_inner, seed)
        fold_logits = fit(bank, train, best).logits(bank.center[torch.as_tensor(fold)])
        logits[torch.as_tensor(fold)] = fold_logits
        accs.append(_score(fold_logits, bank.labels[torch.as_tensor(fold)])[0])
        chosen.append(best.describe())
        if progress is not None:
            progress()
    return NestedResult(logits, accs, chosen)
