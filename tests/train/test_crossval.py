"""Cross-validated head and the honest estimate: folds, no leakage, intervals, the refit head."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edge.estimate import estimate_line, wilson_interval
from edge.train import crossval, linear_head

SMALL_GRID = [crossval.Setting(1e-3, 0), crossval.Setting(3e-2, 1)]


def _bank(n_per_class: int, classes: int, dim: int, separation: float, seed: int = 0) -> crossval.FeatureBank:
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    centres = torch.randn(classes, dim, generator=g) * separation
    noise = lambda: torch.randn(len(labels), dim, generator=g)  # noqa: E731
    center = centres[labels] + noise()
    return crossval.FeatureBank(center, centres[labels] + noise(), (centres[labels] + noise())[:, None], labels,
                                classes)


def test_stratified_folds_cover_every_photo_once_and_balance_classes():
    labels = np.repeat(np.arange(5), 24)
    folds = crossval.stratified_folds(labels, 5, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(120))
    for fold in folds:  # 24 photos of a class over 5 folds: 4 or 5 each, and every fold 24 photos
        assert set(np.bincount(labels[fold], minlength=5).tolist()) <= {4, 5} and len(fold) == 24


def test_nested_estimate_on_noise_is_chance_not_the_selection_figure():
    bank = _bank(30, 4, 64, separation=0.0)  # labels carry no signal at all
    result = crossval.nested(bank, SMALL_GRID, k_outer=4, k_inner=4, seed=0)
    accuracy = (result.logits.argmax(1) == bank.labels).float().mean().item()
    assert accuracy < 0.40  # chance is 0.25; a leaky estimate would read high
    _, scores = crossval.choose(bank, np.arange(120), SMALL_GRID, 4, seed=0)
    assert len(scores) == len(SMALL_GRID)
    assert len(crossval.grid(4)) == 12 and {s.views for s in crossval.grid(4)} == {0, 4}


def test_nested_estimate_on_separable_data_is_high_and_matches_new_data():
    bank, fresh = _bank(30, 4, 64, separation=0.35, seed=1), _bank(200, 4, 64, separation=0.35, seed=1)
    oof = crossval.nested(bank, SMALL_GRID, k_outer=5, k_inner=5, seed=0).logits
    estimate = (oof.argmax(1) == bank.labels).float().mean().item()
    chosen, _ = crossval.choose(bank, np.arange(120), SMALL_GRID, 5, seed=0)
    head = crossval.fit(bank, np.arange(120), chosen)
    truth = (head.logits(fresh.center).argmax(1) == fresh.labels).float().mean().item()
    assert estimate > 0.6 and abs(estimate - truth) < 0.12


def test_linear_head_folds_standardisation_into_the_layer():
    bank = _bank(20, 3, 16, separation=1.0)
    x = bank.center * 50 + 7  # badly scaled features
    head = linear_head.fit(x, bank.labels, 3, l2=1e-3)
    layer = torch.nn.Linear(16, 3)
    head.load_into(layer)
    with torch.no_grad():
        assert torch.allclose(layer(x), head.logits(x), atol=1e-4)
    assert (head.logits(x).argmax(1) == bank.labels).float().mean() > 0.9


@pytest.mark.parametrize("correct,total,low,high", [(112, 120, 0.874, 0.966), (0, 10, 0.0, 0.278),
                                                    (10, 10, 0.722, 1.0)])
def test_wilson_interval(correct, total, low, high):
    lo, hi = wilson_interval(correct, total)
    assert lo == pytest.approx(low, abs=2e-3) and hi == pytest.approx(high, abs=2e-3)


def test_estimate_line_names_method_and_photos():
    from edge.estimate import estimate_fields

    line = estimate_line(estimate_fields(545, 600, "nested 5-fold CV"))
    assert line == "estimated accuracy on unseen photos: 90.8% (95% CI 88.3-92.9, nested 5-fold CV, 600 photos)"


def test_temperature_recovers_overconfidence_and_lowers_ece():
    from edge.train.calibration import calibration_report, fit_temperature

    g = torch.Generator().manual_seed(0)
    true_logits = torch.randn(2000, 5, generator=g) * 2
    labels = torch.multinomial(torch.softmax(true_logits, 1), 1, generator=g).squeeze(1)
    overconfident = true_logits * 3  # a model 3x too sure of itself
    assert fit_temperature(overconfident, labels) == pytest.approx(3.0, rel=0.15)
    report = calibration_report(overconfident, labels)
    assert report["ece_after"] < report["ece_before"] / 2
