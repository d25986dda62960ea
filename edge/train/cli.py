"""`edge train` and `edge classify`: thin typer commands over the library."""

from __future__ import annotations

from edge.cli_options import command
from edge.cli_support import clean_errors, make_console
from edge.train.request import ClassifyOptions, TrainRequest, train_from_request

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


def run_classify(opts: ClassifyOptions) -> None:
    """Print the top ImageNet labels of a photo with probabilities (checks a zoo model and its weights).

    Example:

      edge classify cat.jpg --model efficientnet_lite1 --top-k 3
    """
    from edge.train.classify import classify_imagenet

    for label, prob in classify_imagenet(opts.image, model_name=opts.model, weights=opts.weights, top_k=opts.top_k):
        console.print(f"{prob:7.2%}  {label}")


train = clean_errors(command(TrainRequest, run_train))
classify = clean_errors(command(ClassifyOptions, run_classify))
