"""`edge train` and `edge classify`: thin typer commands over the library."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from edge.cli_support import clean_errors, make_console
from edge.errors import EdgeError
from edge.train.config import TrainConfig

console = make_console()
DEFAULTS = TrainConfig()


def _opt(name: str, text: str) -> typer.models.OptionInfo:
    """An option whose help shows the config default it overrides (options stay None when not given)."""
    return typer.Option(help=f"{text} (default: {getattr(DEFAULTS, name)})")


@clean_errors
def train(
    *,
    data: Annotated[Optional[Path], typer.Argument(help="Image folder: one sub-folder per class, or train/ + val/.")] = None,
    more_data: Annotated[Optional[list[Path]], typer.Argument(help="More folders merged in by class name (e.g. a "
                                                              "reviewed collected/), not copied.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run folder to write (default: runs/train, then "
                                                "runs/train2, ...: never an existing run).")] = None,
    model: Annotated[Optional[str], _opt("model", "Zoo model name (efficientnet_lite0/1/2, mobilenet_v3_*, ...).")] = None,
    strategy: Annotated[Optional[str], _opt("strategy", "auto | feature-extract | finetune.")] = None,
    epochs: Annotated[Optional[int], _opt("epochs", "SGD epochs (finetune 15, uncached head 10 when None).")] = None,
    cv_folds: Annotated[Optional[int], _opt("cv_folds", "Cross-validation folds for the head and the estimate.")] = None,
    unknown_keep: Annotated[Optional[float], _opt("unknown_keep", "Share of in-class photos the 'unknown' "
                                                  "threshold keeps.")] = None,
    unknown_score: Annotated[Optional[str], _opt("unknown_score", "cosine | cosine+softmax ('unknown' score: "
                                                 "+softmax catches look-alikes of the classes better, "
                                                 "far-away images worse).")] = None,
    batch_size: Annotated[Optional[int], _opt("batch_size", "Batch size.")] = None,
    lr_backbone: Annotated[Optional[float], _opt("lr_backbone", "AdamW base LR of the backbone.")] = None,
    lr_head: Annotated[Optional[float], _opt("lr_head", "AdamW base LR of the head.")] = None,
    max_lr_backbone: Annotated[Optional[float], _opt("max_lr_backbone", "OneCycle peak LR of the backbone.")] = None,
    max_lr_head: Annotated[Optional[float], _opt("max_lr_head", "OneCycle peak LR of the head.")] = None,
    feature_views: Annotated[Optional[int], _opt("feature_views", "Augmented views per photo for the cached-feature "
                                                 "head (CV tries 0 and N).")] = None,
    dropout: Annotated[Optional[float], _opt("dropout", "Dropout before the new Linear head.")] = None,
    val_fraction: Annotated[Optional[float], _opt("val_fraction", "Held-out fraction per class (finetune).")] = None,
    num_workers: Annotated[Optional[int], _opt("num_workers", "DataLoader workers (-1: sized to the machine).")] = None,
    weight_decay: Annotated[Optional[float], _opt("weight_decay", "AdamW weight decay.")] = None,
    label_smoothing: Annotated[Optional[float], _opt("label_smoothing", "Cross-entropy label smoothing.")] = None,
    image_size: Annotated[Optional[int], _opt("image_size", "Input size override (crop); resize keeps the ratio.")] = None,
    max_cost: Annotated[Optional[float], _opt("max_cost", "Budget in EfficientNet-Lite0 FLOPs: above 1, auto compares "
                                              "the recipes within it on the same folds (e.g. 3).")] = None,
    target_device: Annotated[Optional[str], _opt("target_device", "Device profile whose budget is --max-cost "
                                                 "(edge devices list).")] = None,
    seed: Annotated[Optional[int], _opt("seed", "Seed for split, folds, init and augmentation.")] = None,
    device: Annotated[Optional[str], _opt("device", "auto | cpu | cuda.")] = None,
    no_pretrained: Annotated[bool, typer.Option("--no-pretrained", help="Random init (no weights).")] = False,
    weights: Annotated[Optional[Path], typer.Option(help="Local ImageNet state dict for the backbone.")] = None,
    no_cache_features: Annotated[bool, typer.Option("--no-cache-features", help="Run the frozen backbone every epoch.")] = False,
    config: Annotated[Optional[Path], typer.Option(help="TOML/YAML/JSON file with any of these settings.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted run in --out.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier run in --out (never other files).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Also show the libraries' own output (NNCF, ONNX "
                                          "Runtime, torch).")] = False,
) -> None:
    """Train a classifier on an image folder; write RUN_DIR/checkpoint.pt, manifest.json, metrics.json ...

    Examples:

      edge train photos/                                   # -> runs/train (then runs/train2, ...)

      edge train photos/ --out runs/flowers --model efficientnet_lite1

      edge train --resume --out runs/flowers               # continue after Ctrl-C

      edge train photos/ collected/ --out runs/flowers2    # photos/ and collected/ merged by class name
    """
    from edge.chatter import set_verbose
    from edge.train.config import load_config
    from edge.train.run import train as run_training
    from edge.train.session import resolve_resume_config

    set_verbose(verbose)
    if resume:
        if out is None:
            raise EdgeError("--resume needs --out RUN_DIR of the interrupted run")
        cfg = resolve_resume_config(out)
    else:
        if data is None:
            raise EdgeError("edge train needs DATA_DIR, a folder with one sub-folder per class (edge train photos/)")
        if out is None:
            from edge.ownership import next_numbered

            out = next_numbered(Path("runs/train"))
        keys = config_keys()
        overrides = {k: v for k, v in locals().items() if k in keys}
        overrides.update(data=str(data), out=str(out), weights=str(weights) if weights else None,
                         more_data=tuple(str(p) for p in more_data) if more_data else None)
        if no_pretrained:
            overrides["pretrained"] = False
        if no_cache_features:
            overrides["cache_features"] = False
        cfg = load_config(config, overrides)
    result = run_training(cfg, resume=resume, force=force, log=console.print)
    from edge.train.run import is_main_process

    if is_main_process():
        console.print(f"[bold green]done[/]: strategy {result.strategy}, {result.seconds:.0f} s -> {result.out}")


def config_keys() -> set[str]:
    """Every TrainConfig field: a flag of the same name (dashes for underscores) sets it."""
    from dataclasses import fields

    from edge.train.config import TrainConfig

    return {f.name for f in fields(TrainConfig)}


@clean_errors
def classify(
    image: Annotated[Path, typer.Argument(help="A photo.")],
    model: Annotated[str, typer.Option(help="Zoo model name.")] = "efficientnet_lite0",
    weights: Annotated[Optional[Path], typer.Option(help="Local ImageNet state dict.")] = None,
    top_k: Annotated[int, typer.Option(help="How many labels.")] = 5,
) -> None:
    """Print the top ImageNet labels of a photo with probabilities (checks a zoo model and its weights).

    Example:

      edge classify cat.jpg --model efficientnet_lite1 --top-k 3
    """
    from edge.train.classify import classify_imagenet

    for label, prob in classify_imagenet(image, model, weights, top_k):
        console.print(f"{prob:7.2%}  {label}")
