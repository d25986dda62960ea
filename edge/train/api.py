"""Train's front door: the only names export and bench import from edge.train.

Like torchvision's `get_model`/`get_weight`: a run folder (or zoo name) in, a ready model and its
manifest out, so no other stage reaches into sessions, engines or checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from edge.errors import EdgeError
from edge.hashing import file_sha256
from edge.manifest import Manifest
from edge.run_dir import RunDir
from edge.train import checkpoint
from edge.train.data import Split


@dataclass
class LoadedRun:
    model: nn.Module  # eval mode, CPU
    manifest: Manifest  # source_sha256 = the checkpoint file's hash
    split: Split  # the labelled photos, paths resolved (and checked) against the data folder
    checkpoint: Path
    held_out: bool  # the split's val photos stayed out of the deployed model: accuracy on them is honest
    # model returns (logits, unknown_score) when the run has class means (manifest.unknown set)


def load_split(run_dir: Path, data_override: Path | None = None) -> Split:
    path = RunDir(run_dir).split_path
    if not path.is_file():
        raise EdgeError(f"{run_dir}: no {path.name}; pass a run folder written by `edge train`")
    split = Split.load(path, data_override)
    missing = [s.path for s in split.val[:1] + split.train[:1] if not s.path.is_file()]
    if missing:
        raise EdgeError(f"{missing[0]}: training data moved; pass --data DIR pointing at the dataset folder")
    return split


def load_run(path: str | Path, data: Path | None = None) -> LoadedRun:
    """A run folder (or its checkpoint.pt): the trained model, its manifest and its split."""
    payload = checkpoint.load(path)
    split = load_split(payload["path"].parent, data)
    # exported artifacts point at the exact checkpoint they came from
    manifest = payload["manifest"].with_updates(source_sha256=file_sha256(payload["path"]))
    model = checkpoint.rebuild(payload)
    if manifest.unknown:
        from edge.train.openset import OpenSetModel
        from edge.train.zoo import get_entry

        model = OpenSetModel.from_checkpoint(model, get_entry(manifest.arch).head_path, payload) or model
    return LoadedRun(model, manifest, split, payload["path"], held_out(payload["path"].parent, manifest))


def held_out(run_dir: Path, manifest: Manifest) -> bool:
    """Whether the split's val photos stayed out of the deployed model (edge.run_dir.RunDir.held_out)."""
    return RunDir(run_dir).held_out(manifest.metrics.get("strategy"))


def load_zoo(name: str, weights: Path | None = None) -> tuple[nn.Module, Manifest]:
    """A zoo model with its 1000-class ImageNet head, in eval mode, and its manifest."""
    from edge.train.classify import imagenet_labels
    from edge.train.models import build_imagenet_model
    from edge.train.zoo import imagenet_entry, manifest_for

    entry = imagenet_entry(name)
    model = build_imagenet_model(entry, pretrained=True, weights=weights).eval()
    return model, manifest_for(entry, entry.preprocessing, imagenet_labels(), "")
