"""What a training strategy hands the report: predictions on photos no decision saw."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from edge.train.data import Sample


@dataclass(frozen=True, kw_only=True)
class HeadSelection:
    """How the cached-feature head was chosen and estimated. The field names are metrics.json's keys."""

    head_setting: str  # the deployed setting, chosen by k-fold CV on every photo
    cv_accuracy_by_setting: dict[str, float]  # setting -> that CV's accuracy (selection figures, optimistic)
    estimate_fold_accuracy: list[float]  # the nested estimate's outer folds
    estimate_fold_settings: list[str]  # the setting each outer fold's inner CV chose


@dataclass(frozen=True, kw_only=True)
class RecipeChoice:
    """`--max-cost`: which recipe was deployed and why (edge.train.recipe_head). Field names are metrics.json's keys."""

    estimate_fold_recipes: list[str]  # the recipe chosen inside each outer fold
    recipe: str
    recipe_reason: str
    recipe_budget_x_lite0: float
    recipe_menu: list[dict]  # edge.train.recipes.menu_rows
    recipe_reference: str  # the cheapest recipe within the budget: what gains are measured against
    recipe_interval: str  # how the gains' intervals were computed


@dataclass(kw_only=True)
class Evaluation:
    """What the report is built from: predictions on photos the model (or its fold) never saw."""

    logits: torch.Tensor
    labels: torch.Tensor
    samples: list[Sample]  # the photo each row of logits predicts, in order (oof.json's rows)
    estimate: dict  # estimate_fields(...)
    selection_accuracy: float  # val_accuracy: the figure decisions were made on
    trained_on_images: int  # photos the deployed model was fit on
    held_out: bool  # the split's val photos were kept out of the deployed model (bench measures accuracy on them)
    head: HeadSelection | None = None  # the cached-feature head paths
    recipe: RecipeChoice | None = None  # --max-cost above 1, or --model a+b
    unknown: dict = field(default_factory=dict)  # the manifest's `unknown` ({} when the strategy has none)
    checkpoint_extra: dict = field(default_factory=dict)  # tensors the checkpoint keeps (class means)
    held_out_scores: torch.Tensor | None = None  # each evaluated photo's unknown score (oof.json)

    def details(self) -> dict[str, Any]:
        """metrics.json's strategy-specific keys, in the order they are written."""
        out: dict[str, Any] = {}
        for part in (self.head, self.recipe):
            if part is not None:
                out.update(asdict(part))
        out["trained_on_images"] = self.trained_on_images
        return out
