"""Everything one training run holds: model, data, plan, best checkpoint so far."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from edge.atomic import write_json
from edge.errors import EdgeError
from edge.manifest import Manifest
from edge.preprocessing import Preprocessing
from edge.run_dir import RunDir
from edge.train import recipes
from edge.train.config import TrainConfig, load_config
from edge.train.data import Split, make_split
from edge.train.datasets import ImageDataset
from edge.train.device import TrainDevice, setup_device
from edge.train.models import build_model
from edge.train.strategy import Plan, choose_plan
from edge.train.transforms import BatchAugment, train_transform, val_transform
from edge.train.zoo import ModelEntry, get_entry, manifest_for


@dataclass(kw_only=True)
class Session:
    cfg: TrainConfig
    out: Path
    dev: TrainDevice
    entry: ModelEntry
    split: Split
    plan: Plan
    model: nn.Module
    manifest: Manifest  # what the run writes; its preprocessing is the one every loader of the run uses
    train_ds: ImageDataset
    val_ds: ImageDataset
    augment: torch.nn.Module  # per-batch ColorJitter + normalize for train_ds's uint8 crops
    log: Callable[[str], None]
    history: list[dict] = field(default_factory=list)

    @property
    def pre(self) -> Preprocessing:
        return self.manifest.preprocessing

    @property
    def run_dir(self) -> RunDir:
        return RunDir(self.out)


def _load_split(cfg: TrainConfig, run: RunDir, resume: bool, log) -> Split:
    if resume and run.split_path.is_file():
        return Split.load(run.split_path)
    if cfg.more_data:  # edge train DATA MORE...: class folders merged by name
        from edge.train.folders import merged_split

        split = merged_split([cfg.data, *cfg.more_data], cfg.val_fraction, cfg.seed, cfg.unknown_as_class)
    else:
        split = make_split(cfg.data, cfg.val_fraction, cfg.seed, cfg.unknown_as_class)
    if split.skipped:
        n = len(split.skipped)
        log(f"[yellow]warning: skipped {n} unusable file{'' if n == 1 else 's'}: {'; '.join(split.skipped)}[/]")
    if split.left_out:
        log(f"left out {', '.join(split.left_out)}: 'unknown' is the model's own answer, not a class "
            "(--unknown-as-class trains it as one)")
    if split.holdout:
        log(f"{len(split.holdout)} photos in {split.root / 'val'} are kept out of every decision (folds, strategy, "
            "temperature, unknown threshold) and measure the final model")
    return split


def resolve_resume_config(out: Path) -> TrainConfig:
    """The interrupted run's config; `out` is where the run is now (a copied run resumes in place)."""
    run = RunDir(out)
    if not run.config_path.is_file():
        raise EdgeError(f"{out}: nothing to resume (no {run.config_path.name}); start the run without --resume")
    cfg = load_config(run.config_path, {"out": str(out)})  # a broken config is named first
    if run.is_finished():
        raise EdgeError(f"{out}: this run finished (it has {run.metrics_path.name}); nothing to resume: train a new "
                        "run, or replace this one with --force instead of --resume")
    return cfg


def open_session(cfg: TrainConfig, resume: bool, log: Callable[[str], None]) -> Session:
    out = Path(cfg.out)
    dev = setup_device(cfg.device, cfg.amp, cfg.channels_last, cfg.num_workers)
    entry, run = get_entry(cfg.model), RunDir(out)
    pre = recipes.input_preprocessing(cfg.model, cfg)
    split = _load_split(cfg, run, resume, log)
    plan = choose_plan(cfg.strategy, len(split.train) + len(split.val))
    torch.manual_seed(cfg.seed)
    model = build_model(entry, len(split.classes), cfg.pretrained, cfg.weights, cfg.dropout).to(dev.device)
    if dev.channels_last:
        model = model.to(memory_format=torch.channels_last)
    source = ""
    if dev.is_main:
        out.mkdir(parents=True, exist_ok=True)
        source = split.save(run.split_path)
        write_json(run.config_path, cfg.to_dict())
    manifest = manifest_for(entry, pre, split.classes, source)
    train_ds = ImageDataset(split.train, train_transform(pre, cfg.min_scale), min_side=pre.decode_side)
    val_ds = ImageDataset(split.val, val_transform(pre), min_side=pre.decode_side)
    augment = BatchAugment(pre, cfg.jitter).to(dev.device)
    return Session(cfg=cfg, out=out, dev=dev, entry=entry, split=split, plan=plan, model=model,
                   manifest=manifest, train_ds=train_ds, val_ds=val_ds, augment=augment, log=log)
