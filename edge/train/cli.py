"""`edge train` and `edge classify`: thin typer commands over the library."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from edge.cli_options import command, config_parameters
from edge.cli_support import clean_errors, make_console
from edge.train.config import TrainConfig
from edge.train.request import TrainRequest, train_from_request

console = make_console()


def run_train(req: TrainRequest) -> None:
    """Train a classifier on an image folder; write RUN_DIR/checkpoint.pt, manifest.json, metrics.json ...

    Examples:

      edge train photos/                                   # -> runs/train (then runs/train2, ...)

      edge train photos/ --out runs/flowers --model efficientnet_lite1

      edge train --resume --out runs/flowers               # continue after Ctrl-C

      edge train photos/ collected/ --out runs/flowers2    # photos/ and collected/ merged by class name
    """
    from edge.train.run import is_main_process

    result = train_from_request(req, console.print)
    if is_main_process():
        console.print(f"[bold green]done[/]: strategy {result.strategy}, {result.seconds:.0f} s -> {result.out}")


train = clean_errors(command(TrainRequest, run_train, extra=config_parameters(TrainConfig), rest="settings"))


@clean_errors
def classify(
    image: Annotated[Path, typer.Argument(help="A photo.", metavar="IMAGE")],
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
