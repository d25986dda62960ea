"""Feature extraction done right for small datasets: frozen backbone, cross-validated linear head.

1. Run the frozen backbone once per view over every labelled photo (centre, mirror, augmented).
2. Nested cross-validation on those features: the honest accuracy estimate.
3. Plain cross-validation on all photos: the head setting to deploy.
4. Refit that head on every labelled photo: nothing the user gave is held back from the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.transforms import functional as TF

from edge.estimate import estimate_fields
from edge.train import crossval, openset
from edge.train.config import TrainConfig
from edge.train.data import Sample
from edge.train.engine import progress
from edge.train.evaluation import Evaluation, HeadSelection, RecipeChoice
from edge.train.models import get_submodule
from edge.train.oof import frozen_scores
from edge.train.session import Session
from edge.train.transforms import val_transform


@dataclass
class CachedHead:
    """The cached-feature head as deployed: its setting, how every setting scored, its unknown score."""

    setting: crossval.Setting
    cv_scores: dict  # setting -> plain k-fold accuracy on all photos (selection figures)
    unknown: dict  # the manifest's `unknown`: thresholds from held-out in-class scores
    unknown_tensors: dict  # what the checkpoint keeps to rebuild the score (class means, ...)
    held_out_scores: torch.Tensor  # each photo's out-of-fold unknown score (oof.json)


@dataclass
class FrozenResult:
    nested: crossval.NestedResult
    bank: crossval.FeatureBank
    head: CachedHead
    folds: int
    extract_seconds: float
    fit_seconds: float


def _flipped(pre):
    base = val_transform(pre)
    return lambda img: TF.hflip(base(img))


def extract_bank(s: Session) -> tuple[crossval.FeatureBank, float]:
    """Every labelled photo's head inputs; photos already in the feature cache are not run again."""
    from edge.train.view_cache import cached_views

    cfg, samples = s.cfg, s.split.train + s.split.val
    start = time.perf_counter()
    got = cached_views(s, samples, {"centre": val_transform(s.pre), "mirrored": _flipped(s.pre)}, cfg.feature_views)
    new = max(got.computed.values())
    kept = len(samples) - new
    s.log(f"features: {new} new photo{'' if new == 1 else 's'} computed, {kept} from the feature cache" if
          cfg.feature_cache else f"features: {len(samples)} photos computed (--no-feature-cache)")
    center, flipped = got.by_view["centre"], got.by_view["mirrored"]
    n, views = len(samples), cfg.feature_views
    aug = torch.stack([got.by_view[f"augmented-{v}"] for v in range(views)], 1) if views else torch.empty(
        n, 0, center.shape[1])  # (N, V, D)
    labels = torch.tensor([x.label for x in samples])
    bank = crossval.FeatureBank(center, flipped, aug, labels, len(s.split.classes))
    return bank, time.perf_counter() - start


def fit_frozen_head(s: Session) -> FrozenResult:
    """Estimate, choose, refit; the refit head is written into s.model."""
    bank, extract_seconds = extract_bank(s)
    per_class = int(np.bincount(bank.labels.numpy()).min())
    folds = max(2, min(s.cfg.cv_folds, per_class))  # every fold keeps at least one photo of each class
    settings = crossval.grid(s.cfg.feature_views)
    start = time.perf_counter()
    with progress(s.dev.is_main) as bar:
        task = bar.add_task(f"nested {folds}-fold CV ({len(settings)} head settings)", total=folds + 1)
        nested = crossval.nested(bank, settings, k_outer=folds, k_inner=folds, seed=s.cfg.seed,
                                 progress=lambda: bar.advance(task))
        head = fit_cached_head(s, bank, settings, folds, nested.logits, step=lambda: bar.advance(task))
    return FrozenResult(nested, bank, head, folds, extract_seconds, time.perf_counter() - start)


def fit_cached_head(s: Session, bank: crossval.FeatureBank, settings: list[crossval.Setting], folds: int,
                    nested_logits: torch.Tensor, step=None) -> CachedHead:
    """The one place the cached-feature head is fitted: choose its setting by k-fold CV on every photo, refit
    that setting on all of them into s.model, and set the unknown threshold from k-fold held-out scores."""
    everyone = np.arange(len(bank.labels))
    setting, scores = crossval.choose(bank, everyone, settings, folds, s.cfg.seed)
    if step is not None:
        step()
    crossval.fit(bank, everyone, setting).load_into(get_submodule(s.model, s.entry.head_path)[-1])
    cosine = openset.held_out_cosine(bank, folds, s.cfg.seed)  # each photo against class means fit without it
    unknown, tensors = unknown_threshold(bank, setting, folds, s.cfg, cosine)
    return CachedHead(setting, scores, unknown, tensors, frozen_scores(cosine, nested_logits, tensors))


def cached_evaluation(*, head: CachedHead, labels: torch.Tensor, samples: list[Sample], nested_logits: torch.Tensor,
                      fold_accuracy: list[float], fold_settings: list[str], method: str,
                      recipe: RecipeChoice | None = None) -> Evaluation:
    """The report's input for a cached-feature head: nested-CV predictions of every photo, the head refit on all."""
    correct = int((nested_logits.argmax(1) == labels).sum())
    selection = HeadSelection(head_setting=head.setting.describe(), cv_accuracy_by_setting=head.cv_scores,
                              estimate_fold_accuracy=[round(a, 4) for a in fold_accuracy],
                              estimate_fold_settings=fold_settings)
    return Evaluation(logits=nested_logits, labels=labels, samples=samples,
                      estimate=estimate_fields(correct, len(labels), method),
                      selection_accuracy=head.cv_scores[selection.head_setting], trained_on_images=len(labels),
                      held_out=False, head=selection, recipe=recipe, unknown=head.unknown,
                      checkpoint_extra=head.unknown_tensors, held_out_scores=head.held_out_scores)


def unknown_threshold(bank: crossval.FeatureBank, chosen: crossval.Setting, folds: int, cfg: TrainConfig,
                      cosine: torch.Tensor) -> tuple[dict, dict]:
    """The manifest's `unknown` from k-fold held-out in-class scores (`cosine`), and the checkpoint's score tensors."""
    logits = None
    if cfg.unknown_score != "cosine":  # the combined score also needs held-out logits
        logits = crossval.held_out_logits(bank, np.arange(len(bank.labels)), [chosen], folds, cfg.seed)[chosen]
    means = openset.class_means(bank.center, bank.labels, bank.num_classes)  # the refit head's: all photos
    return openset.from_held_out(cosine, logits, means, cfg.unknown_score, cfg.unknown_keep)
