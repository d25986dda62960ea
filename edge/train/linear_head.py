"""An L2-regularised logistic-regression head on frozen features, fit exactly (full-batch L-BFGS).

On a few hundred photos a well-regularised linear head is what transfer learning on frozen
features should be (Kornblith et al., "Do Better ImageNet Models Transfer Better?", 2019): a
convex fit has no epoch to pick, and its one knob, the L2 strength, is chosen by cross-validation.
Features are standardised for the fit, then the scaling is folded into the Linear layer, so the
deployed model stays backbone + one Linear.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class LinearHead:
    weight: torch.Tensor  # (classes, features), on raw (unstandardised) features
    bias: torch.Tensor  # (classes,)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.T + self.bias

    def load_into(self, linear: nn.Linear) -> None:
        with torch.no_grad():
            linear.weight.copy_(self.weight)
            linear.bias.copy_(self.bias)


def fit(x: torch.Tensor, y: torch.Tensor, num_classes: int, l2: float) -> LinearHead:
    return fit_path(x, y, num_classes, [l2])[0]


def fit_path(x: torch.Tensor, y: torch.Tensor, num_classes: int, l2s: list[float],
             max_iter: int = 100) -> list[LinearHead]:
    """One head per L2 strength (in the order given), minimising mean cross-entropy + l2/2 * ||W||^2
    on standardised features. Fit from the strongest to the weakest, each starting from the last
    solution: along a regularisation path that takes a fraction of the iterations of cold starts."""
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    z = (x - mean) / std
    w = torch.zeros(num_classes, x.shape[1], requires_grad=True)
    b = torch.zeros(num_classes, requires_grad=True)
    heads = {}
    for l2 in sorted(set(l2s), reverse=True):
        _minimise(z, y.long(), w, b, l2=l2, max_iter=max_iter)
        with torch.no_grad():  # fold the standardisation in: W z + b = (W / std) x + (b - W mean / std)
            heads[l2] = LinearHead(w.detach() / std, (b - (w * (mean / std)).sum(1)).detach())
    return [heads[l2] for l2 in l2s]


def _minimise(z: torch.Tensor, target: torch.Tensor, w: torch.Tensor, b: torch.Tensor, *, l2: float,
              max_iter: int) -> None:
    optimizer = torch.optim.LBFGS([w, b], lr=1, max_iter=max_iter, tolerance_grad=1e-5, tolerance_change=1e-7,
                                  history_size=20, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(z @ w.T + b, target) + 0.5 * l2 * (w * w).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
