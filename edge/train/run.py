"""One training run: the frozen-feature head (cross-validated) or a fine-tune, then the report.

Every run ends with an accuracy estimate from photos that no decision saw: nested
cross-validation for the frozen head, the held-out split for the SGD paths (which keep their
last epoch: no epoch is picked on the photos that measure it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from edge.atomic import write_json, write_text
from edge.estimate import estimate_fields, estimate_line
from edge.manifest import write_manifest
from edge.ownership import claim_run_dir, drop_aside
from edge.train import checkpoint, openset
from edge.train.config import TrainConfig
from edge.train.device import rank_from_env, teardown
from edge.train.engine import accuracy, make_loader, predict, train_epoch
from edge.train.evaluation import Evaluation
from edge.train.models import get_submodule
from edge.train.oof import save_oof  # the per-photo predictions `edge review` reads
from edge.train.report import confusion_matrix, draw_pictures, per_class_accuracy, plot_confusion, plot_curves, plot_cv
from edge.train.session import Session, open_session
from edge.train.strategy import differential_optimizer, freeze_backbone, head_optimizer, unfreeze_all

FINETUNE_EPOCHS = 15
NAIVE_HEAD_EPOCHS = 10  # the frozen-backbone SGD loop without cached features


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


def frozen_head(s: Session, timings: dict) -> Evaluation:
    from edge.train.frozen import cached_evaluation, fit_frozen_head

    s.log(freeze_backbone(s.model, s.entry))
    r = fit_frozen_head(s)
    timings.update(feature_extract_seconds=round(r.extract_seconds, 1), head_fit_seconds=round(r.fit_seconds, 1))
    chosen, photos = r.head.setting.describe(), len(r.bank.labels)
    s.log(f"head: {chosen} (chosen by {r.folds}-fold CV: {r.head.cv_scores[chosen]:.4f}), "
          f"refit on all {photos} photos; features {r.extract_seconds:.0f} s, CV {r.fit_seconds:.0f} s")
    s.log(openset.describe(r.head.unknown))
    return cached_evaluation(head=r.head, labels=r.bank.labels, samples=s.split.train + s.split.val,
                             nested_logits=r.nested.logits, fold_accuracy=r.nested.fold_accuracy,
                             fold_settings=r.nested.fold_settings, method=f"nested {r.folds}-fold CV")


def naive_head_phase(s: Session, timings: dict) -> None:
    """The textbook loop: the frozen backbone runs on every image in every epoch."""
    cfg = s.cfg
    s.log(freeze_backbone(s.model, s.entry))
    head = get_submodule(s.model, s.entry.head_path)
    loader = make_loader(s.train_ds, s.dev, cfg.batch_size, train=True, seed=cfg.seed)
    val_loader = make_loader(s.val_ds, s.dev, cfg.batch_size, train=False, seed=cfg.seed)
    epochs = cfg.epochs or NAIVE_HEAD_EPOCHS
    optimizer, scheduler = head_optimizer(list(head.parameters()), cfg, epochs * len(loader))
    for epoch in range(1, epochs + 1):
        stats = train_epoch(model=s.model, loader=loader, optimizer=optimizer, scheduler=scheduler,
                            criterion=_criterion(cfg), dev=s.dev, scaler=None, description=f"head {epoch}/{epochs}",
                            augment=s.augment, head=head)
        _end_epoch(s, f"head {epoch}/{epochs}", stats, accuracy(*predict(s.model, val_loader, s.dev)))
        timings.setdefault("naive_head_epoch_seconds", []).append(round(stats.seconds, 2))


def _end_epoch(s: Session, step: str, stats, val_acc: float) -> None:
    """Log one epoch ("finetune 3/15") and keep it for the curves."""
    phase, epoch = step.split()[0], int(step.split()[1].split("/")[0])
    s.history.append({"phase": phase, "epoch": epoch, "loss": stats.loss, "val_accuracy": val_acc})
    s.log(f"{step}  loss {stats.loss:.4f}  train_acc {stats.accuracy:.4f}  "
          f"held-out acc {val_acc:.4f}  {stats.seconds:.1f} s  {stats.images_per_second:.1f} img/s")


def finetune_phase(s: Session, resume_state: dict | None) -> None:
    cfg, dev = s.cfg, s.dev
    s.log(unfreeze_all(s.model))
    epochs = cfg.epochs or FINETUNE_EPOCHS
    model = s.model
    if dev.distributed:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[dev.local_rank] if dev.device.type == "cuda" else None)
    loader = make_loader(s.train_ds, dev, cfg.batch_size, train=True, seed=cfg.seed)
    val_loader = make_loader(s.val_ds, dev, cfg.batch_size, train=False, seed=cfg.seed)
    optimizer, scheduler = differential_optimizer(s.model, s.entry, cfg, epochs * len(loader), cfg.max_lr_head)
    scaler = torch.amp.GradScaler("cuda") if dev.use_scaler else None
    start = 1
    if resume_state and resume_state.get("optimizer"):
        optimizer.load_state_dict(resume_state["optimizer"])
        scheduler.load_state_dict(resume_state["scheduler"])
        start = resume_state["epoch"] + 1
    for epoch in range(start, epochs + 1):
        if dev.distributed:
            loader.sampler.set_epoch(epoch)
        stats = train_epoch(model=model, loader=loader, optimizer=optimizer, scheduler=scheduler,
                            criterion=_criterion(cfg), dev=dev, scaler=scaler, description=f"finetune {epoch}/{epochs}",
                            augment=s.augment, freeze_bn=cfg.freeze_bn)
        _end_epoch(s, f"finetune {epoch}/{epochs}", stats, accuracy(*predict(s.model, val_loader, dev)))
        _save_last(s, epoch, optimizer, scheduler)


def _save(s: Session, metrics: dict) -> None:
    if s.dev.is_main:
        checkpoint.save(s.run_dir.checkpoint_path, s.model, s.manifest.with_updates(metrics=metrics),
                        s.cfg.to_dict())


def _save_last(s: Session, epoch: int, optimizer, scheduler) -> None:
    """After every epoch: the model so far (usable after Ctrl-C) and the state --resume needs."""
    if not s.dev.is_main:
        return
    _save(s, {"epoch": epoch})
    checkpoint.save(s.run_dir.last_path, s.model, s.manifest, s.cfg.to_dict(), phase="finetune",
                    epoch=epoch, history=s.history, optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict())


def _resume_state(s: Session) -> dict | None:
    path = s.run_dir.last_path
    if not path.is_file():
        return None
    state = checkpoint.load(path)
    checkpoint.unwrap(s.model).load_state_dict(state["model_state"])
    s.history = list(state["history"])
    s.log(f"resuming {s.out} after finetune epoch {state['epoch']}")
    return state


def held_out_evaluation(s: Session) -> Evaluation:
    """The final model on the held-out split; no decision used it, so it is the estimate."""
    logits, labels = predict(s.model, make_loader(s.val_ds, s.dev, s.cfg.batch_size, False, s.cfg.seed), s.dev)
    correct = int((logits.argmax(1) == labels).sum())
    estimate = estimate_fields(correct, len(labels), "held-out split, last epoch")
    unknown, tensors, scores = ({}, {}, None)
    if s.dev.is_main:
        from edge.train.held_out_unknown import held_out_unknown

        unknown, tensors, scores = held_out_unknown(s)
    return Evaluation(logits=logits, labels=labels, samples=s.split.val, estimate=estimate,
                      selection_accuracy=accuracy(logits, labels), trained_on_images=len(s.split.train), held_out=True,
                      unknown=unknown, checkpoint_extra=tensors, held_out_scores=scores)


def finish(s: Session, ev: Evaluation, seconds: float, timings: dict) -> dict:
    """Write the report files from the evaluation's held-out predictions (and the val/ folder's, if any)."""
    from edge.train.calibration import calibration_report
    from edge.train.holdout import holdout_fields

    pred = ev.logits.argmax(1).numpy()
    matrix = confusion_matrix(pred, ev.labels.numpy(), len(s.split.classes))
    calibration = calibration_report(ev.logits, ev.labels)
    holdout = holdout_fields(s)
    metrics = {
        **ev.estimate,
        **holdout,
        "calibration": calibration,
        "val_accuracy": round(ev.selection_accuracy, 4),
        "val_accuracy_is": "the figure settings were chosen on (a selection figure, optimistic)"
                           + ("; not the val/ folder: see val_folder_accuracy" if holdout else ""),
        "per_class_accuracy": per_class_accuracy(matrix, s.split.classes),
        "confusion_matrix": matrix.tolist(),
        "strategy": s.plan.name,
        "strategy_reason": s.plan.reason,
        "model": s.entry.name,
        **ev.details(),
        **held_out_fields(ev.held_out),
        "skipped_files": len(s.split.skipped),
        "train_seconds": round(seconds, 1),
        "device": str(s.dev.device),
        "world_size": s.dev.world_size,
        **timings,
        "history": s.history,
    }
    keep = ("estimated_accuracy", "estimated_accuracy_ci95", "estimate_method", "estimate_photos", "val_accuracy",
            "strategy", *holdout)
    manifest = s.manifest.with_updates(metrics={k: metrics[k] for k in keep},
                                       temperature=calibration["temperature"], unknown=ev.unknown)
    run = s.run_dir
    checkpoint.save(run.checkpoint_path, s.model, manifest, s.cfg.to_dict(), **ev.checkpoint_extra)
    write_manifest(manifest, run.manifest_path)
    write_json(run.metrics_path, metrics)
    save_oof(run.oof_path, s.split, ev.samples, ev.logits, ev.labels, temperature=calibration["temperature"],
             method=ev.estimate["estimate_method"], unknown=ev.unknown, scores=ev.held_out_scores)
    write_text(run.labels_path, "\n".join(s.split.classes) + "\n")
    draw_pictures(_pictures(s, metrics, matrix, ev), s.log)
    return metrics


def held_out_fields(held_out: bool) -> dict:
    """metrics.json's record of whether the split's val photos stayed out of the deployed model (bench reads it)."""
    return {"held_out": held_out,
            "held_out_is": "the split's val photos: the deployed model never trained on them" if held_out else
                           "nothing: the deployed model was fit on every labelled photo (the estimate is nested CV)"}


def _pictures(s: Session, metrics: dict, matrix, ev: Evaluation) -> dict:
    """The run's pictures, drawn once every file of the run is saved."""
    title = f"confusion matrix: {metrics['estimate_method']} predictions ({int(matrix.sum())} photos)"
    pictures = {"confusion_matrix.png": lambda: plot_confusion(matrix, s.split.classes, s.out / "confusion_matrix.png",
                                                               title)}
    if s.history:
        pictures["training_curves.png"] = lambda: plot_curves(s.history, s.out / "training_curves.png")
    elif ev.head is not None:
        pictures["training_curves.png"] = lambda: plot_cv(ev.head.cv_accuracy_by_setting, ev.head.head_setting,
                                                          metrics["estimate_photos"], metrics, s.out / "training_curves.png")
    return pictures


def is_main_process() -> bool:
    return rank_from_env() == 0


def train(cfg: TrainConfig, *, resume: bool = False, force: bool = False,
          log: Callable[[str], None] = print) -> RunResult:
    """Train into cfg.out. A new run refuses a non-empty folder; `force` moves an earlier run aside
    first and deletes it only once this run has finished (so a failure never loses it)."""
    start = time.perf_counter()
    if not is_main_process():
        log = _silent
    aside = claim_run_dir(Path(cfg.out), force) if not resume and is_main_process() else None
    try:
        result = _train(cfg, resume, log, start)
    except BaseException:
        if aside is not None:
            log(f"the run that was in {cfg.out} before is kept at {aside}")
        raise
    drop_aside(aside)
    return result


def _run_phases(s: Session, resume: bool, timings: dict) -> Evaluation:
    from edge.train import recipe_head, recipes

    if recipe_head.wanted(s):  # --max-cost above 1, or --model a+b: recipes on cached features
        return recipe_head.recipe_head(s, timings)
    if recipes.searching(s.cfg):
        s.log(f"recipes are compared on frozen features only; this run is {s.plan.name}, so it trains "
              f"{s.cfg.model} alone and the cost budget is not used")
    if s.plan.head_phase and s.cfg.cache_features:
        return frozen_head(s, timings)
    if s.plan.head_phase:
        naive_head_phase(s, timings)
    if s.plan.finetune_phase:
        finetune_phase(s, _resume_state(s) if resume else None)
    return held_out_evaluation(s)


def _train(cfg: TrainConfig, resume: bool, log: Callable[[str], None], start: float) -> RunResult:
    s = open_session(cfg, resume, log)
    log(f"model {s.entry.name} ({s.entry.weights_source if cfg.pretrained or cfg.weights else 'random init'}), "
        f"{len(s.split.classes)} classes, {len(s.split.train) + len(s.split.val)} labelled images, "
        f"device {s.dev.device}" + (f" x{s.dev.world_size}" if s.dev.distributed else ""))
    log(f"strategy: {s.plan.name} ({s.plan.reason})")
    timings: dict = {}
    try:
        evaluation = _run_phases(s, resume, timings)
        metrics = finish(s, evaluation, time.perf_counter() - start, timings) if s.dev.is_main else {}
        log(estimate_line(evaluation.estimate))
        if "val_folder_accuracy" in metrics:
            from edge.train.holdout import holdout_line

            log(holdout_line(metrics))
    except KeyboardInterrupt:
        if s.run_dir.checkpoint_path.is_file():
            log(f"interrupted: the model so far is in {s.out}; continue with: edge train --resume --out {s.out}")
        raise
    finally:
        teardown(s.dev)
    return RunResult(s.out, metrics.get("val_accuracy", 0.0), s.plan.name, s.plan.reason,
                     time.perf_counter() - start, metrics)
