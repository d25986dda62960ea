"""Temperature scaling (Guo et al. 2017) fit on held-out logits, and the calibration error it fixes.

The logits come from nested cross-validation: every photo is predicted by a head that never saw
it, so the temperature is fit on predictions no other decision used.
"""

from __future__ import annotations

import numpy as np
import torch


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The T > 0 minimising the negative log-likelihood of softmax(logits / T)."""
    log_t = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE: |accuracy - confidence| per confidence bin, weighted by the bin's share of photos."""
    confidence, predicted = probs.max(1), probs.argmax(1)
    correct = predicted == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    error = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            error += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(error)


def calibration_report(logits: torch.Tensor, labels: torch.Tensor, seed: int = 0) -> dict:
    """The temperature to deploy (fit on all held-out logits) and ECE before/after it.

    ECE after is cross-fitted: each half of the photos is scaled by a temperature fit on the other
    half, so the "after" figure is not measured on the photos that chose the temperature."""
    temperature = fit_temperature(logits, labels)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    halves = (order[: len(order) // 2], order[len(order) // 2 :])
    after = torch.empty_like(logits)
    for fit_on, apply_to in (halves, halves[::-1]):
        after[apply_to] = logits[apply_to] / fit_temperature(logits[fit_on], labels[fit_on])
    y = labels.numpy()
    return {"temperature": round(temperature, 4),
            "ece_before": round(expected_calibration_error(torch.softmax(logits, 1).numpy(), y), 4),
            "ece_after": round(expected_calibration_error(torch.softmax(after, 1).numpy(), y), 4),
            "ece_bins": 15, "ece_after_is": "cross-fitted: each half scaled by a temperature fit on the other half"}
