"""One training run: head phase (cached features) and/or fine-tune phase, then the report."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from edge.atomic import write_json, write_text
from edge.train import checkpoint, features
from edge.train.config import TrainConfig
from edge.train.device import teardown
from edge.train.engine import accuracy, make_loader, predict, train_epoch
from edge.train.models import get_submodule
from edge.train.report import confusion_matrix, per_class_accuracy, plot_confusion, plot_curves
from edge.train.session import Session, open_session
from edge.train.strategy import differential_optimizer, freeze_backbone, head_optimizer, unfreeze_all

REFINE_EPOCHS = 8  # auto's small-LR fine-tune after the head phase (fits 10 min on 2 CPU cores)
FINETUNE_EPOCHS = 15


@dataclass
class RunResult:
    out: Path
    val_accuracy: float
    strategy: str
    reason: str
    seconds: float
    metrics: dict


def _silent(*_args) -> None:
    pass


def _criterion(cfg: TrainConfig) -> nn.Module:
    return nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)


def head_phase(s: Session, timings: dict) -> None:
    cfg, head = s.cfg, get_submodule(s.model, s.entry.head_path)
    s.log(freeze_backbone(s.model, s.entry))
    if not cfg.cache_features:
        return naive_head_phase(s, head, timings)
    start = time.perf_counter()
    train_f = features.extract(s.model, s.entry, s.train_ds, s.rt, cfg.batch_size, cfg.feature_views, cfg.seed,
                               f"features x{cfg.feature_views}", s.augment)
    val_f = features.extract(s.model, s.entry, s.val_ds, s.rt, cfg.batch_size, 1, cfg.seed, "val features")
    timings["feature_extract_seconds"] = round(time.perf_counter() - start, 2)
    steps = cfg.head_epochs * features.steps_per_epoch(len(train_f.y), cfg.batch_size)
    optimizer, scheduler = head_optimizer(list(head.parameters()), cfg, steps)
    result = features.train_head(head, train_f, val_f, cfg.head_epochs, cfg.batch_size, optimizer, scheduler,
                                 _criterion(cfg), cfg.seed)
    timings["head_seconds_per_epoch"] = round(result.seconds_per_epoch, 5)
    s.history += result.history
    s.log(f"head: {cfg.head_epochs} epochs on {len(train_f.y)} cached features in "
          f"{timings['feature_extract_seconds']:.1f} s + {result.seconds_per_epoch * cfg.head_epochs:.2f} s; "
          f"best val_acc {result.best_accuracy:.4f} (epoch {result.best_epoch})")
    s.consider(result.best_accuracy, "head", result.best_epoch)


def naive_head_phase(s: Session, head: nn.Module, timings: dict) -> None:
    """The textbook loop: the frozen backbone runs on every image in every epoch."""
    cfg = s.cfg
    loader = make_loader(s.train_ds, s.rt, cfg.batch_size, train=True, seed=cfg.seed)
    val_loader = make_loader(s.val_ds, s.rt, cfg.batch_size, train=False, seed=cfg.seed)
    epochs = cfg.epochs or cfg.head_epochs
    optimizer, scheduler = head_optimizer(list(head.parameters()), cfg, epochs * len(loader))
    for epoch in range(1, epochs + 1):
        stats = train_epoch(s.model, loader, optimizer, scheduler, _criterion(cfg), s.rt, None,
                            f"head {epoch}/{epochs}", s.augment, head=head)
        val_acc = accuracy(*predict(s.model, val_loader, s.rt))
        _end_epoch(s, "head", epoch, epochs, stats, val_acc)
        timings.setdefault("naive_head_epoch_seconds", []).append(round(stats.seconds, 2))


def _end_epoch(s: Session, phase: str, epoch: int, epochs: int, stats, val_acc: float) -> None:
    s.history.append({"phase": phase, "epoch": epoch, "loss": stats.loss, "val_accuracy": val_acc})
    best = " *" if s.consider(val_acc, phase, epoch) else ""
    s.log(f"{phase} {epoch}/{epochs}  loss {stats.loss:.4f}  train_acc {stats.accuracy:.4f}  "
          f"val_acc {val_acc:.4f}  {stats.seconds:.1f} s  {stats.images_per_second:.1f} img/s{best}")


def finetune_phase(s: Session, resume_state: dict | None) -> None:
    cfg, rt = s.cfg, s.rt
    s.log(unfreeze_all(s.model))
    epochs = cfg.epochs or (REFINE_EPOCHS if s.plan.head_phase else FINETUNE_EPOCHS)
    max_lr_head = cfg.refine_max_lr_head if s.plan.head_phase else cfg.max_lr_head
    model = s.model
    if rt.distributed:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[rt.local_rank] if rt.device.type == "cuda" else None)
    loader = make_loader(s.train_ds, rt, cfg.batch_size, train=True, seed=cfg.seed)
    val_loader = make_loader(s.val_ds, rt, cfg.batch_size, train=False, seed=cfg.seed)
    optimizer, scheduler = differential_optimizer(s.model, s.entry, cfg, epochs * len(loader), max_lr_head)
    scaler = torch.amp.GradScaler("cuda") if rt.use_scaler else None
    start = 1
    if resume_state and resume_state.get("optimizer"):
        optimizer.load_state_dict(resume_state["optimizer"])
        scheduler.load_state_dict(resume_state["scheduler"])
        start = resume_state["epoch"] + 1
    for epoch in range(start, epochs + 1):
        if rt.distributed:
            loader.sampler.set_epoch(epoch)
        stats = train_epoch(model, loader, optimizer, scheduler, _criterion(cfg), rt, scaler,
                            f"finetune {epoch}/{epochs}", s.augment, freeze_bn=cfg.freeze_bn)
        val_acc = accuracy(*predict(s.model, val_loader, rt))
        _end_epoch(s, "finetune", epoch, epochs, stats, val_acc)
        _save_last(s, epoch, optimizer, scheduler)


def _save_last(s: Session, epoch: int, optimizer=None, scheduler=None) -> None:
    if not s.rt.is_main:
        return
    extra = {"phase": "finetune", "epoch": epoch, "history": s.history, "best_accuracy": s.best_accuracy}
    if optimizer is not None:
        extra.update(optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict())
    checkpoint.save(s.out / checkpoint.LAST_NAME, s.model, s.manifest, s.cfg.to_dict(), **extra)


def _resume_state(s: Session) -> dict | None:
    path = s.out / checkpoint.LAST_NAME
    if not path.is_file():
        return None
    state = checkpoint.load(path)
    checkpoint.unwrap(s.model).load_state_dict(state["model_state"])
    s.history, s.best_accuracy = list(state["history"]), float(state["best_accuracy"])
    s.log(f"resuming {s.out} after finetune epoch {state['epoch']} (best val_acc {s.best_accuracy:.4f})")
    return state


def finish(s: Session, seconds: float, timings: dict) -> dict:
    """Evaluate the best checkpoint on the validation split and write the report files."""
    best = checkpoint.load(s.out / checkpoint.CHECKPOINT_NAME)
    checkpoint.unwrap(s.model).load_state_dict(best["model_state"])
    logits, labels = predict(s.model, make_loader(s.val_ds, s.rt, s.cfg.batch_size, False, s.cfg.seed), s.rt)
    pred = logits.argmax(1).numpy()
    matrix = confusion_matrix(pred, labels.numpy(), len(s.split.classes))
    metrics = {
        "val_accuracy": accuracy(logits, labels),
        "per_class_accuracy": per_class_accuracy(matrix, s.split.classes),
        "confusion_matrix": matrix.tolist(),
        "strategy": s.plan.name,
        "strategy_reason": s.plan.reason,
        "model": s.entry.name,
        "train_images": len(s.split.train),
        "val_images": len(s.split.val),
        "skipped_files": len(s.split.skipped),
        "train_seconds": round(seconds, 1),
        "device": str(s.rt.device),
        "world_size": s.rt.world_size,
        **timings,
        "history": s.history,
    }
    manifest = best["manifest"].with_updates(metrics={k: metrics[k] for k in ("val_accuracy", "strategy")})
    checkpoint.save(s.out / checkpoint.CHECKPOINT_NAME, s.model, manifest, s.cfg.to_dict())
    from edge.manifest import write_manifest

    write_manifest(manifest, s.out / "manifest.json")
    write_json(s.out / "metrics.json", metrics)
    write_text(s.out / "labels.txt", "\n".join(s.split.classes) + "\n")
    plot_confusion(matrix, s.split.classes, s.out / "confusion_matrix.png")
    plot_curves(s.history, s.out / "training_curves.png")
    return metrics


def is_main_process() -> bool:
    """torchrun sets RANK; only rank 0 talks and writes."""
    return int(os.environ.get("RANK", "0")) == 0


def train(cfg: TrainConfig, resume: bool = False, log: Callable[[str], None] = print) -> RunResult:
    start = time.perf_counter()
    if not is_main_process():
        log = _silent
    s = open_session(cfg, resume, log)
    log(f"model {s.entry.name} ({s.entry.weights_source if cfg.pretrained or cfg.weights else 'random init'}), "
        f"{len(s.split.classes)} classes, {len(s.split.train)} train / {len(s.split.val)} val images, "
        f"device {s.rt.device}" + (f" x{s.rt.world_size}" if s.rt.distributed else ""))
    log(f"strategy: {s.plan.name} ({s.plan.reason})")
    timings: dict = {}
    try:
        state = _resume_state(s) if resume else None
        if s.plan.head_phase and state is None:
            head_phase(s, timings)
            if s.plan.finetune_phase:
                _save_last(s, 0)
        if s.plan.finetune_phase:
            finetune_phase(s, state)
        metrics = finish(s, time.perf_counter() - start, timings) if s.rt.is_main else {}
    except KeyboardInterrupt:
        if (s.out / checkpoint.CHECKPOINT_NAME).is_file():
            log(f"interrupted: best checkpoint so far (val_acc {s.best_accuracy:.4f}) is in {s.out}; "
                f"continue with: edge train --resume --out {s.out}")
        raise
    finally:
        teardown(s.rt)
    return RunResult(s.out, metrics.get("val_accuracy", s.best_accuracy), s.plan.name, s.plan.reason,
                     time.perf_counter() - start, metrics)
