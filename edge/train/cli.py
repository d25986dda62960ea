"""`edge train` and `edge classify`: thin typer commands over the library."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from edge.cli_support import clean_errors
from edge.errors import EdgeError

console = Console()


@clean_errors
def train(
    *,
    data: Annotated[Optional[Path], typer.Argument(help="Image folder: one sub-folder per class, or train/ + val/.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run folder to write.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Zoo model name (default efficientnet_lite0).")] = None,
    strategy: Annotated[Optional[str], typer.Option(help="auto | feature-extract | finetune.")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs of the main phase (default: by strategy).")] = None,
    cv_folds: Annotated[Optional[int], typer.Option(help="Cross-validation folds for the head and the estimate.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Batch size.")] = None,
    lr_backbone: Annotated[Optional[float], typer.Option(help="AdamW base LR of the backbone.")] = None,
    lr_head: Annotated[Optional[float], typer.Option(help="AdamW base LR of the head.")] = None,
    max_lr_backbone: Annotated[Optional[float], typer.Option(help="OneCycle peak LR of the backbone.")] = None,
    max_lr_head: Annotated[Optional[float], typer.Option(help="OneCycle peak LR of the head.")] = None,
    feature_views: Annotated[Optional[int], typer.Option(help="Augmented views per image when caching features.")] = None,
    dropout: Annotated[Optional[float], typer.Option(help="Dropout before the new Linear head.")] = None,
    val_fraction: Annotated[Optional[float], typer.Option(help="Held-out fraction per class (default 0.2).")] = None,
    num_workers: Annotated[Optional[int], typer.Option(help="DataLoader workers (-1: sized to the machine).")] = None,
    weight_decay: Annotated[Optional[float], typer.Option(help="AdamW weight decay.")] = None,
    label_smoothing: Annotated[Optional[float], typer.Option(help="Cross-entropy label smoothing.")] = None,
    image_size: Annotated[Optional[int], typer.Option(help="Input size override (crop); resize keeps the ratio.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed for split, init and augmentation.")] = None,
    device: Annotated[Optional[str], typer.Option(help="auto | cpu | cuda.")] = None,
    no_pretrained: Annotated[bool, typer.Option("--no-pretrained", help="Random init (no weights).")] = False,
    weights: Annotated[Optional[Path], typer.Option(help="Local ImageNet state dict for the backbone.")] = None,
    no_cache_features: Annotated[bool, typer.Option("--no-cache-features", help="Run the frozen backbone every epoch.")] = False,
    config: Annotated[Optional[Path], typer.Option(help="TOML/YAML/JSON file with any of these settings.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted run in --out.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier run in --out (never other files).")] = False,
) -> None:
    """Fine-tune a pretrained classifier on an image folder; write RUN_DIR/checkpoint.pt and friends."""
    from edge.train.config import load_config
    from edge.train.run import train as run_training
    from edge.train.session import resolve_resume_config

    if resume:
        if out is None:
            raise EdgeError("--resume needs --out RUN_DIR of the interrupted run")
        cfg = resolve_resume_config(out)
    else:
        if data is None or out is None:
            raise EdgeError("edge train needs DATA_DIR and --out RUN_DIR (e.g. edge train photos/ --out runs/flowers)")
        keys = config_keys()
        overrides = {k: v for k, v in locals().items() if k in keys}
        overrides.update(data=str(data), out=str(out), weights=str(weights) if weights else None)
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
    imagenet: Annotated[bool, typer.Option("--imagenet", help="Use the zoo model's ImageNet head.")] = True,
    model: Annotated[str, typer.Option(help="Zoo model name.")] = "efficientnet_lite0",
    weights: Annotated[Optional[Path], typer.Option(help="Local ImageNet state dict.")] = None,
    top_k: Annotated[int, typer.Option(help="How many labels.")] = 5,
) -> None:
    """Print the top ImageNet labels of a photo with probabilities."""
    from edge.train.classify import classify_imagenet

    for label, prob in classify_imagenet(image, model, weights, top_k):
        console.print(f"{prob:7.2%}  {label}")
