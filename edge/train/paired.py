"""Recipes compared on the same repeated folds, and a choice whose estimate stays honest.

On 600 photos one recipe's accuracy has a 95 % interval about 5 points wide, so two estimates side by
side cannot tell a 1-2 point gain from noise. On the same folds most of that noise is shared (the
same hard photos are in the same test fold) and cancels in the per-fold difference.

The interval of the mean difference is the corrected resampled t (Nadeau & Bengio 2003, "Inference
for the generalization error"): over J = repeats x k fold differences d_j, the variance of their mean
is (1/J + n_test/n_train) s^2, not s^2 / J, because the folds' training sets overlap. We use it, not a
paired bootstrap over photos, because the question is "does recipe B train better than A on photos
like these", and most of that doubt is which photos were trained on: a bootstrap over the test
photos of fixed fits sees none of it and comes out too narrow (it is reported beside it, for
comparison). Each recipe's L2 strength is chosen once, by k-fold CV on the photos compared, and every
fold fits its head with it: choosing inside every fold cost 15x the fits (~40 min for five recipes
on 2 cores) and the strength's doubt is small beside the folds'; the same for every recipe, so it
leaves the paired difference fair.

`nested_choice` puts the whole choice (compare, decide) inside an outer k-fold loop: each outer
fold's photos are predicted by the recipe that fold's own comparison chose, so the chosen recipe's
estimate is a figure no decision saw (the same argument as crossval.nested for the L2 strength).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from edge.train import crossval
from edge.train.recipes import short


@dataclass
class Comparison:
    fold_accuracy: dict[str, np.ndarray]  # recipe -> (repeats * k,) test accuracy per fold, same folds for all
    correct: dict[str, np.ndarray]  # recipe -> (repeats, n) 1 where the photo was right in that repeat
    test_share: float  # n_test / n_train of one fold (1 / (k - 1))


def compare(banks: dict[str, crossval.FeatureBank], idx: np.ndarray, *, repeats: int, k: int,
            settings: list[crossval.Setting], seed: int, step: Callable[[], None] | None = None) -> Comparison:
    """Every recipe on the same `repeats` x `k` folds of the photos `idx`."""
    labels = next(iter(banks.values())).labels
    accs = {name: [] for name in banks}
    correct = {name: np.zeros((repeats, len(idx))) for name in banks}
    chosen = {name: crossval.choose(bank, idx, settings, k, seed)[0] for name, bank in banks.items()}
    for r in range(repeats):
        for fold in crossval.stratified_folds(labels[torch.as_tensor(idx)].numpy(), k, seed + 100 + r):
            train, test = idx[np.setdiff1d(np.arange(len(idx)), fold)], torch.as_tensor(idx[fold])
            for name, bank in banks.items():
                best = chosen[name]
                hits = (crossval.fit(bank, train, best).logits(bank.center[test]).argmax(1) == labels[test]).numpy()
                accs[name].append(float(hits.mean()))
                correct[name][r, fold] = hits
                if step is not None:
                    step()
    return Comparison({n: np.array(a) for n, a in accs.items()}, correct, 1.0 / (k - 1))


def _t_quantile(df: int, level: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2, df))


def corrected_interval(diffs: np.ndarray, test_share: float, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of per-fold differences: Nadeau-Bengio's corrected resampled t interval."""
    j = len(diffs)
    mean = float(diffs.mean())
    if j < 2:
        return mean, float("-inf"), float("inf")
    half = _t_quantile(j - 1, level) * float(np.sqrt((1.0 / j + test_share) * diffs.var(ddof=1)))
    return mean, mean - half, mean + half


def bootstrap_interval(a: np.ndarray, b: np.ndarray, draws: int = 4000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of mean(b - a) resampling photos (per-photo correctness averaged over repeats)."""
    diff = (b - a).mean(0)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (draws, len(diff)))].mean(1)
    return float(np.quantile(means, 0.5 - level / 2)), float(np.quantile(means, 0.5 + level / 2))


def gains(comparison: Comparison, reference: str) -> dict[str, dict]:
    """Per recipe: estimate (mean fold accuracy) and its paired gain over `reference` with intervals."""
    out = {}
    base = comparison.fold_accuracy[reference]
    for name, accs in comparison.fold_accuracy.items():
        mean, low, high = corrected_interval(accs - base, comparison.test_share)
        boot = bootstrap_interval(comparison.correct[reference], comparison.correct[name])
        out[name] = {"estimate": float(accs.mean()), "gain": mean, "gain_ci95": [low, high],
                     "gain_ci95_bootstrap_photos": list(boot), "folds_positive": int((accs > base).sum()),
                     "folds_negative": int((accs < base).sum()), "folds": len(accs)}
    return out


def decide(rows: dict[str, dict], costs: dict[str, float], budget: float, reference: str) -> tuple[str, str]:
    """The recipe `auto` deploys, and why: a costlier one only when its paired interval is above zero
    and its cost fits the budget; among those, the largest gain."""
    fits = [n for n in rows if n != reference and costs[n] <= budget]
    above = [n for n in fits if rows[n]["gain_ci95"][0] > 0]
    if not above:
        why = (f"no recipe within {budget:g}x Lite0's FLOPs gains over {short(reference)} with a 95% interval above zero"
               if fits else f"no other recipe fits {budget:g}x Lite0's FLOPs")
        return reference, why
    best = max(above, key=lambda n: rows[n]["gain"])
    low, high = rows[best]["gain_ci95"]
    return best, (f"paired gain over {short(reference)} {100 * rows[best]['gain']:+.1f} points (95% CI {100 * low:+.1f} to "
                  f"{100 * high:+.1f}, above zero) at {costs[best]:.1f}x Lite0's FLOPs, within the budget {budget:g}x")


@dataclass
class NestedChoice:
    logits: torch.Tensor  # (N, C): each photo predicted by the recipe its outer fold's comparison chose
    fold_accuracy: list[float]
    fold_recipes: list[str]
    fold_settings: list[str]


def nested_choice(banks: dict[str, crossval.FeatureBank], costs: dict[str, float], budget: float, reference: str,
                  *, repeats: int, k: int, settings: list[crossval.Setting], seed: int,
                  step: Callable[[], None] | None = None) -> NestedChoice:
    """The honest estimate of compare + decide + the L2 choice: all of it inside each outer fold."""
    labels = next(iter(banks.values())).labels
    n, classes = len(labels), next(iter(banks.values())).num_classes
    logits = torch.empty(n, classes)
    accs, recipes, chosen_settings = [], [], []
    for fold in crossval.stratified_folds(labels.numpy(), k, seed + 1):  # crossval.nested's outer folds
        train, test = np.setdiff1d(np.arange(n), fold), torch.as_tensor(fold)
        rows = gains(compare(banks, train, repeats=repeats, k=k, settings=settings, seed=seed, step=step), reference)
        name, _ = decide(rows, costs, budget, reference)
        best, _ = crossval.choose(banks[name], train, settings, k, seed)
        logits[test] = crossval.fit(banks[name], train, best).logits(banks[name].center[test])
        accs.append(float((logits[test].argmax(1) == labels[test]).float().mean()))
        recipes.append(name)
        chosen_settings.append(best.describe())
    return NestedChoice(logits, accs, recipes, chosen_settings)
