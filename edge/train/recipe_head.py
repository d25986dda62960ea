"""The run step behind `--max-cost X`: features of every candidate recipe, the paired menu, the choice,
the honest nested estimate, and the chosen recipe's head refit on all photos into the session's model.

Every backbone is built once and every (backbone, input size) is extracted once (feature_cache); the
deployed model is assembled from those same backbone modules, so the refit head sees exactly the
features the exported graph computes.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from edge.errors import EdgeError
from edge.hashing import file_sha256
from edge.train import crossval, feature_cache, multi_backbone, paired, recipes
from edge.train.evaluation import Evaluation, RecipeChoice
from edge.train.frozen import cached_evaluation, fit_cached_head
from edge.train.models import set_submodule, swap_head
from edge.train.session import Session
from edge.train.zoo import get_entry, manifest_for

REPEATS = 3  # the paired comparison's repeated k-fold partitions


def _weights_id(s: Session) -> str:
    if s.cfg.weights:
        raise EdgeError("--max-cost compares zoo backbones with their packaged ImageNet weights; drop --weights")
    return "imagenet" if s.cfg.pretrained else f"random-seed{s.cfg.seed}"


def _backbones(names: list[str], s: Session) -> dict[str, tuple[nn.Module, int]]:
    """Every backbone the recipes use, headless, built once (seeded per backbone: reproducible random init)."""
    out = {}
    for part in dict.fromkeys(p for n in names for p in recipes.part_names(n)):
        torch.manual_seed(s.cfg.seed)
        module, width = multi_backbone.headless(get_entry(part), s.cfg.pretrained)
        if s.dev.channels_last:
            module = module.to(memory_format=torch.channels_last)
        out[part] = (module.eval().to(s.dev.device), width)
    return out


def _branches(name: str, s: Session, backbones: dict, weights: str) -> list[tuple]:
    """(cache key, Branch module) per backbone of a recipe, as its graph would run them."""
    pre = recipes.input_preprocessing(name, s.cfg)
    widest = max(get_entry(p).preprocessing.crop_size for p in recipes.part_names(name))
    out = []
    for part, size in zip(recipes.part_names(name), recipes.branch_sizes(name, s.cfg)):
        key = feature_cache.BranchKey(part, pre, size, weights)
        out.append((key, multi_backbone.make_branch(pre, get_entry(part), backbones[part][0], widest)))
    return out


def recipe_banks(names: list[str], s: Session) -> tuple[dict[str, crossval.FeatureBank], dict]:
    """A FeatureBank per recipe (its branches' features concatenated), and the backbones built."""
    weights, samples = _weights_id(s), s.split.train + s.split.val
    backbones = _backbones(names, s)
    per_recipe = {n: _branches(n, s, backbones, weights) for n in names}
    modules = {key: branch for pairs in per_recipe.values() for key, branch in pairs}
    cache = feature_cache.FeatureCache(feature_cache.default_folder() if s.cfg.feature_cache else None)
    digests = [file_sha256(x.path) for x in samples]
    feats = feature_cache.features(cache, modules, samples, digests, s.dev, s.cfg.batch_size)
    labels = torch.tensor([x.label for x in samples])
    banks = {}
    for name, pairs in per_recipe.items():
        both = torch.cat([feats[key] for key, _ in pairs], dim=2)  # (N, 2, D)
        banks[name] = crossval.FeatureBank(both[:, 0].contiguous(), both[:, 1].contiguous(),
                                           torch.empty(len(samples), 0, both.shape[2]), labels, len(s.split.classes))
    return banks, backbones


def deployed_model(name: str, s: Session, backbones: dict) -> nn.Module:
    """The chosen recipe as a trainable-head model built from the backbones the features came from."""
    entry = get_entry(name)
    if entry.family == "multi":
        model = multi_backbone.assemble(entry, [backbones[p] for p in recipes.part_names(name)],
                                        recipes.input_preprocessing(name, s.cfg).crop_size)
    else:
        model, width = backbones[name]
        set_submodule(model, entry.head_path, nn.Linear(width, 1))  # swap_head replaces it
    return swap_head(model, entry, len(s.split.classes), s.cfg.dropout).to(s.dev.device)


def _adopt(s: Session, name: str, model: nn.Module) -> None:
    """The session now trains `name`: the report, checkpoint and manifest describe it."""
    s.entry, s.model = get_entry(name), model
    s.manifest = manifest_for(s.entry, recipes.input_preprocessing(name, s.cfg), s.split.classes,
                              s.manifest.source_sha256)


def _compare(banks: dict, costs: dict, budget: float, reference: str, s: Session, folds: int) -> tuple:
    """The menu on all photos, then the same procedure inside each outer fold (the honest estimate)."""
    from edge.train.engine import progress

    settings, n, seed = crossval.grid(0), len(next(iter(banks.values())).labels), s.cfg.seed
    if len(banks) == 1:  # `--model a+b` alone: crossval.nested on its cached features, as frozen_head does
        (name,) = banks
        r = crossval.nested(banks[name], settings, k_outer=folds, k_inner=folds, seed=seed)
        return {}, name, "--model", paired.NestedChoice(r.logits, r.fold_accuracy, [name] * folds, r.fold_settings)
    steps = REPEATS * folds * len(banks) * (folds + 1)
    with progress(s.dev.is_main) as bar:
        task = bar.add_task(f"paired {REPEATS}x{folds}-fold comparison of {len(banks)} recipes, nested", total=steps)
        step = lambda: bar.advance(task)  # noqa: E731
        top = paired.compare(banks, np.arange(n), repeats=REPEATS, k=folds, settings=settings, seed=seed, step=step)
        rows = paired.gains(top, reference)
        chosen, why = paired.decide(rows, costs, budget, reference)
        nested = paired.nested_choice(banks, costs, budget, reference, repeats=REPEATS, k=folds, settings=settings,
                                      seed=seed, step=step)
    return rows, chosen, why, nested


def wanted(s: Session) -> bool:
    """Cached-feature heads this step serves: a budget above Lite0, or `--model a+b` (features cached)."""
    cfg = s.cfg
    return s.plan.head_phase and cfg.cache_features and (recipes.searching(cfg)
                                                         or ("+" in cfg.model and cfg.feature_views == 0))


def recipe_head(s: Session, timings: dict) -> Evaluation:
    """run.frozen_head for a budget above Lite0: choose the recipe by paired CV, then fit it."""
    cfg, budget = s.cfg, recipes.budget(s.cfg)
    names = recipes.candidates(cfg) if recipes.searching(cfg) else [cfg.model]
    costs = {n: recipes.cost(n, cfg) for n in names}
    fit = [n for n in names if costs[n] <= budget or n == cfg.model]
    reference = min(fit, key=lambda n: costs[n])
    if len(fit) > 1:
        s.log(f"recipes within {budget:g}x Lite0's FLOPs: {', '.join(recipes.short(n) for n in fit)}; "
              f"paired {REPEATS}x{cfg.cv_folds}-fold comparison against {recipes.short(reference)}")
    start = time.perf_counter()
    banks, backbones = recipe_banks(fit, s)
    extracted = time.perf_counter()
    labels = next(iter(banks.values())).labels
    folds = max(2, min(cfg.cv_folds, int(np.bincount(labels.numpy()).min())))
    rows, chosen, why, nested = _compare(banks, costs, budget, reference, s, folds)
    menu = recipes.menu_rows(names, costs, cfg, rows, chosen) if rows else []
    for line in recipes.menu_lines(menu, reference, len(labels)) if rows else []:
        s.log(line)
    if rows:
        s.log(f"recipe: {recipes.short(chosen)} ({why})")
    _adopt(s, chosen, deployed_model(chosen, s, backbones))
    head = fit_cached_head(s, banks[chosen], crossval.grid(0), folds, nested.logits)
    timings.update(feature_extract_seconds=round(extracted - start, 1),
                   head_fit_seconds=round(time.perf_counter() - extracted, 1))
    method = f"nested {folds}-fold CV" + (f", recipe chosen inside each fold by paired {REPEATS}x{folds}-fold CV"
                                          if rows else "")
    recipe = RecipeChoice(estimate_fold_recipes=nested.fold_recipes, recipe=chosen, recipe_reason=why,
                          recipe_budget_x_lite0=budget, recipe_menu=menu, recipe_reference=reference,
                          recipe_interval=f"Nadeau-Bengio corrected resampled t, {REPEATS}x{folds}-fold")
    return cached_evaluation(head=head, labels=labels, samples=s.split.train + s.split.val,
                             nested_logits=nested.logits, fold_accuracy=nested.fold_accuracy,
                             fold_settings=nested.fold_settings, method=method, recipe=recipe)
