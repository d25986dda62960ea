"""What `edge train` and `edge classify` are asked to do, and turning a TrainRequest into a run:
arguments, file, flags -> TrainConfig.

The command line parses into a `TrainRequest` (its setting flags are TrainConfig's fields, as TrainFlags);
tests and scripts call `train_from_request` with the same object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edge.cli_options import arg, group, opt
from edge.errors import EdgeError
from edge.train.config import TrainConfig, TrainFlags, load_config


@dataclass(frozen=True, kw_only=True)
class TrainRequest:
    data: Path | None = field(default=None, metadata=arg(
        "Image folder: one sub-folder per class, or train/ + val/ (val/ decides nothing: it measures the final model)."))
    more_data: list[Path] | None = field(default=None, metadata=arg(
        "More folders merged in by class name (e.g. a reviewed collected/), not copied."))
    out: Path | None = field(default=None, metadata=opt(
        "Run folder to write (default: runs/train, then runs/train2, ...: never an existing run).", "--out"))
    config: Path | None = field(default=None, metadata=opt("TOML/YAML/JSON file with any of these settings."))
    resume: bool = field(default=False, metadata=opt("Continue the interrupted run in --out.", "--resume"))
    force: bool = field(default=False, metadata=opt("Replace an earlier run in --out (never other files).", "--force"))
    verbose: bool = field(default=False, metadata=opt(
        "Also show the libraries' own output (NNCF, ONNX Runtime, torch).", "--verbose"))
    settings: TrainFlags = field(default_factory=TrainFlags, metadata=group())  # --model, --epochs, ... (None: not given)


@dataclass(frozen=True, kw_only=True)
class ClassifyOptions:
    image: Path = field(metadata=arg("A photo."))
    model: str = field(default="efficientnet_lite0", metadata=opt("Zoo model name."))
    weights: Path | None = field(default=None, metadata=opt("Local ImageNet state dict."))
    top_k: int = field(default=5, metadata=opt("How many labels."))


def resolve_config(req: TrainRequest) -> TrainConfig:
    """Defaults < --config file < flags; --resume takes the interrupted run's own config."""
    if req.resume:
        from edge.train.session import resolve_resume_config

        if req.out is None:
            raise EdgeError("--resume needs --out RUN_DIR of the interrupted run")
        return resolve_resume_config(req.out)
    if req.data is None:
        raise EdgeError("edge train needs DATA_DIR, a folder with one sub-folder per class (edge train photos/)")
    if req.out is None:
        from edge.ownership import next_numbered

        out = next_numbered(Path("runs/train"))
    else:
        out = req.out
    more = tuple(str(p) for p in req.more_data) if req.more_data else None
    return load_config(req.config, {**req.settings.given(), "data": str(req.data), "out": str(out), "more_data": more})


def train_from_request(req: TrainRequest, log: Callable[[str], None]):
    """Resolve the config and train; the RunResult."""
    from edge.library_output import set_verbose
    from edge.train.run import train

    set_verbose(req.verbose)
    return train(resolve_config(req), resume=req.resume, force=req.force, log=log)
