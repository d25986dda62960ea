"""Per-backbone features kept on disk, so comparing recipes runs each backbone once per photo.

A recipe's features are its branches' features side by side (edge.train.multi_backbone), and a
branch's features depend only on: the backbone and its weights, how the shared input is
preprocessed, the size the branch resizes it to, how photos are decoded, and the photo's bytes.
That is the key. Lite0 alone (224 px input) and Lite0 inside Lite0+Lite1 (240 px input resized to
224 in the graph) are different entries: each recipe is scored on exactly what its graph computes.

One file per branch key under the cache folder (default ~/.cache/edge/features, or $EDGE_CACHE/features): photo sha256 ->
(centre, mirrored) features. Re-running a comparison, or the accuracy check's folds (links to the
same photos), extracts nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torchvision.transforms import functional as TF

from edge.atomic import atomic_path
from edge.preprocessing import Preprocessing
from edge.train.data import Sample
from edge.train.datasets import ImageDataset
from edge.train.device import TrainDevice
from edge.train.engine import make_loader, progress, to_device
from edge.train.multi_backbone import Branch
from edge.train.transforms import val_transform
from edge.train.versions import library_versions


@dataclass(frozen=True)
class BranchKey:
    backbone: str  # zoo name
    pre: Preprocessing  # the shared input of the recipe's graph (and its decode: drafts differ from full decodes)
    size: int  # what the branch resizes that input to (== pre.crop_size: no resize)
    weights: str  # "imagenet", or "random-seed<N>" for --no-pretrained

    def digest(self) -> str:
        return key_digest(self)


def key_digest(key, *tag: str) -> str:
    """A cache key's file name: its fields and the libraries' versions. The preprocessing is written as
    before Preprocessing held `decode` (its fields, `decode_side` beside them), so earlier caches still match;
    its `frame_preprocess` (how live frames are resized) never touches a photo's features."""
    fields = asdict(key)
    fields["pre"].pop("decode")
    fields["pre"].pop("frame_preprocess")
    fields["decode_side"] = key.pre.decode_side
    versions = {k: v for k, v in library_versions().items() if k in ("torch", "torchvision", "timm")}
    text = json.dumps([*tag, fields, versions], sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def default_folder() -> Path:
    """$EDGE_CACHE/features, else $XDG_CACHE_HOME/edge/features, else ~/.cache/edge/features: never in a run."""
    if os.environ.get("EDGE_CACHE"):
        return Path(os.environ["EDGE_CACHE"]) / "features"
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "edge" / "features"


class FeatureCache:
    """Photo digest -> (2, D) features per branch key; `folder=None` keeps them in memory only."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.tables: dict[BranchKey, dict[str, torch.Tensor]] = {}

    def table(self, key: BranchKey) -> dict[str, torch.Tensor]:
        if key not in self.tables:
            self.tables[key] = self._read(key)
        return self.tables[key]

    def _file(self, key: BranchKey) -> Path | None:
        return None if self.folder is None else self.folder / f"{key.backbone}-{key.digest()}.pt"

    def _read(self, key: BranchKey) -> dict[str, torch.Tensor]:
        path = self._file(key)
        if path is None or not path.is_file():
            return {}
        try:
            return dict(torch.load(path, map_location="cpu", weights_only=True))
        except Exception:  # a truncated or foreign file: recompute rather than fail the run
            return {}

    def save(self, key: BranchKey) -> None:
        path = self._file(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                torch.save(self.tables[key], tmp)
        except OSError:  # a read-only cache only costs time
            pass


def _flipped(pre: Preprocessing):
    base = val_transform(pre)
    return lambda img: TF.hflip(base(img))


@torch.no_grad()
def _run(branches: dict[BranchKey, Branch], samples: list[Sample], pre: Preprocessing, dev: TrainDevice,
         batch_size: int) -> dict[BranchKey, torch.Tensor]:
    """(N, 2, D) per branch: centre and mirrored view, one decode pass per view for every branch."""
    out: dict[BranchKey, list] = {k: [[], []] for k in branches}
    views = (val_transform(pre), _flipped(pre))
    with progress(dev.is_main) as bar:
        for v, transform in enumerate(views):
            loader = make_loader(ImageDataset(samples, transform, min_side=pre.decode_side), dev, batch_size, False, 0)
            task = bar.add_task(f"features at {pre.crop_size} px ({'centre' if v == 0 else 'mirrored'}): "
                                f"{', '.join(k.backbone for k in branches)}", total=len(loader))
            for images, labels in loader:
                images, _ = to_device(images, labels, dev)
                for key, branch in branches.items():
                    with dev.autocast():
                        out[key][v].append(branch(images).float().cpu())
                bar.advance(task)
    return {k: torch.stack([torch.cat(c), torch.cat(f)], 1) for k, (c, f) in out.items()}


def features(cache: FeatureCache, branches: dict[BranchKey, Branch], samples: list[Sample], digests: list[str],
             dev: TrainDevice, batch_size: int) -> dict[BranchKey, torch.Tensor]:
    """(N, 2, D) features per branch key for `samples`, computing only what the cache lacks."""
    groups: dict[tuple, dict[BranchKey, Branch]] = {}
    for key, branch in branches.items():
        groups.setdefault(key.pre, {})[key] = branch
    for pre, group in groups.items():
        todo = [i for i, d in enumerate(digests) if any(d not in cache.table(k) for k in group)]
        if todo:
            for module in group.values():
                module.eval().to(dev.device)
            computed = _run(group, [samples[i] for i in todo], pre, dev, batch_size)
            for key, values in computed.items():
                cache.table(key).update({digests[i]: row.clone() for i, row in zip(todo, values)})
                cache.save(key)
    return {k: torch.stack([cache.table(k)[d] for d in digests]) for k in branches}
