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
    return float(log_t.exp().clamp(0.05, 20.0))


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


def calibration_report(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    temperature = fit_temperature(logits, labels)
    before = torch.softmax(logits, 1).numpy()
    after = torch.softmax(logits / temperature, 1).numpy()
    y = labels.numpy()
    return {"temperature": round(temperature, 4), "ece_before": round(expected_calibration_error(before, y), 4),
            "ece_after": round(expected_calibration_error(after, y), 4), "ece_bins": 15}
