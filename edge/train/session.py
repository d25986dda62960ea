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
from edge.train.config import TrainConfig, load_config
from edge.train.data import Split, make_split
from edge.train.datasets import ImageDataset
from edge.train.device import TrainDevice, setup_device
from edge.train.models import build_model
from edge.train.strategy import Plan, choose_plan
from edge.train.transforms import BatchAugment, train_transform, val_transform
from edge.train.zoo import ModelEntry, Preprocessing, get_entry, manifest_for


@dataclass(kw_only=True)
class Session:
    cfg: TrainConfig
    out: Path
    dev: TrainDevice
    entry: ModelEntry
    pre: Preprocessing
    split: Split
    plan: Plan
    model: nn.Module
    manifest: Manifest
    train_ds: ImageDataset
    val_ds: ImageDataset
    augment: torch.nn.Module  # per-batch ColorJitter + normalize for train_ds's uint8 crops
    log: Callable[[str], None]
    history: list[dict] = field(default_factory=list)


def _preprocessing(entry: ModelEntry, cfg: TrainConfig) -> Preprocessing:
    return entry.preprocessing.at_size(cfg.image_size) if cfg.image_size else entry.preprocessing


def _load_split(cfg: TrainConfig, out: Path, resume: bool, log) -> Split:
    if resume and (out / "split.json").is_file():
        return Split.load(out / "split.json")
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
    path = out / "config.json"
    if not path.is_file():
        raise EdgeError(f"{out}: nothing to resume (no config.json); start the run without --resume")
    cfg = load_config(path, {"out": str(out)})  # a broken config is named first
    if (out / "metrics.json").is_file():  # written last, once the run has finished
        raise EdgeError(f"{out}: this run finished (it has metrics.json); nothing to resume: train a new run, "
                        "or replace this one with --force instead of --resume")
    return cfg


def open_session(cfg: TrainConfig, resume: bool, log: Callable[[str], None]) -> Session:
    out = Path(cfg.out)
    dev = setup_device(cfg.device, cfg.amp, cfg.channels_last, cfg.num_workers)
    entry = get_entry(cfg.model)
    pre = _preprocessing(entry, cfg)
    split = _load_split(cfg, out, resume, log)
    plan = choose_plan(cfg.strategy, len(split.train) + len(split.val))
    torch.manual_seed(cfg.seed)
    model = build_model(entry, len(split.classes), cfg.pretrained, cfg.weights, cfg.dropout).to(dev.device)
    if dev.channels_last:
        model = model.to(memory_format=torch.channels_last)
    source = ""
    if dev.is_main:
        out.mkdir(parents=True, exist_ok=True)
        source = split.save(out / "split.json")
        write_json(out / "config.json", cfg.to_dict())
    manifest = manifest_for(entry, pre, split.classes, source)
    train_ds = ImageDataset(split.train, train_transform(pre, cfg.min_scale), min_side=manifest.decode_side)
    val_ds = ImageDataset(split.val, val_transform(pre), min_side=manifest.decode_side)
    augment = BatchAugment(pre, cfg.jitter).to(dev.device)
    return Session(cfg=cfg, out=out, dev=dev, entry=entry, pre=pre, split=split, plan=plan, model=model,
                   manifest=manifest, train_ds=train_ds, val_ds=val_ds, augment=augment, log=log)
