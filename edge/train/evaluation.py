"""What a training strategy hands the report: predictions on photos no decision saw."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Evaluation:
    """What the report is built from: predictions on photos the model (or its fold) never saw."""

    logits: torch.Tensor
    labels: torch.Tensor
    estimate: dict  # estimate_fields(...)
    selection_accuracy: float  # val_accuracy: the figure decisions were made on
    details: dict  # strategy-specific extras for metrics.json
    unknown: dict = field(default_factory=dict)  # the manifest's `unknown` ({} when the strategy has none)
    checkpoint_extra: dict = field(default_factory=dict)  # tensors the checkpoint keeps (class means)
    held_out_scores: torch.Tensor | None = None  # each evaluated photo's unknown score (oof.json)
