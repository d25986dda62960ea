"""The frozen path's features kept across runs: a retrain, or a --resume after Ctrl-C, extracts only new photos.

A head input depends on the backbone and its weights, the preprocessing, how photos are decoded, where
it is computed (CPU fp32 or CUDA autocast), which view (centre, mirrored, augmented pass v) and the
photo's bytes: that is the key, one file per key under the feature cache folder (edge.train.feature_cache,
which the recipe comparison shares). An augmented view is drawn from a generator seeded by the photo's
hash, the seed and the pass, so it is the same view whatever else is in the folder and can be kept too.
Features are saved every CHUNK photos, so an interrupted extraction keeps what it computed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from torch.utils.data import Dataset

from edge.hashing import file_sha256
from edge.preprocessing import Preprocessing
from edge.train import features
from edge.train.data import Sample
from edge.train.datasets import ImageDataset
from edge.train.feature_cache import FeatureCache, default_folder, key_digest
from edge.train.transforms import BatchAugment, train_transform

CHUNK = 256  # photos extracted between saves


@dataclass(frozen=True)
class ViewKey:
    backbone: str  # --model
    weights: str  # "imagenet", "random-seed<N>" or "file-<sha256>" (--weights)
    pre: Preprocessing  # with its decode
    compute: str  # "cpu" or "cuda-bfloat16": autocast changes the numbers
    view: str  # "centre", "mirrored", "augmented-<pass>"
    augment: tuple = ()  # augmented views: (seed, min_scale, jitter)

    def digest(self) -> str:
        return key_digest(self, "head-input")


class SeededAugment(Dataset):
    """Photo i's augmented view (random crop, flip, colour jitter, normalised) from its own seed."""

    def __init__(self, samples: list[Sample], seeds: list[int], pre: Preprocessing, min_scale: float, jitter: float,
                 min_side: int | None):
        self.base = ImageDataset(samples, train_transform(pre, min_scale), min_side=min_side)
        self.jitter = BatchAugment(pre, jitter)  # on the CPU, one photo at a time: its factors from its seed
        self.seeds = seeds

    def __len__(self) -> int:
        return len(self.base)

    def preload(self) -> SeededAugment:
        self.base.preload()
        return self

    def __getitem__(self, index: int):
        with torch.random.fork_rng(devices=[]):  # the caller's random state is left as it was
            torch.manual_seed(self.seeds[index])
            x, label = self.base[index]
            return self.jitter(x[None])[0], label


def weights_id(cfg) -> str:
    if cfg.weights:
        return f"file-{file_sha256(cfg.weights)[:16]}"
    return "imagenet" if cfg.pretrained else f"random-seed{cfg.seed}"


def compute_id(dev) -> str:
    return dev.device.type + ("" if dev.amp_dtype is None else f"-{str(dev.amp_dtype).split('.')[-1]}")


def augment_seed(digest: str, seed: int, index: int) -> int:
    return int(hashlib.sha256(f"{digest}:{seed}:{index}".encode()).hexdigest()[:15], 16)


@dataclass
class CachedViews:
    """(N, D) features per view, and how many photos each view had to compute (the rest came from the cache)."""

    by_view: dict[str, torch.Tensor]
    computed: dict[str, int]


def _fill(cache: FeatureCache, key: ViewKey, make_ds, samples: list[Sample], digests: list[str], common: dict) -> int:
    """Compute the photos `key`'s table lacks, CHUNK at a time, saving after each (and on Ctrl-C)."""
    table = cache.table(key)
    first = {d: i for i, d in reversed(list(enumerate(digests)))}  # a photo present twice is computed once
    todo = sorted(i for d, i in first.items() if d not in table)
    try:
        for start in range(0, len(todo), CHUNK):
            part = todo[start:start + CHUNK]
            x = features.extract(ds=make_ds(part), views=1, description=f"features: {key.view} "
                                 f"({start + len(part)}/{len(todo)} new photos)", **common).x.float().cpu()
            table.update({digests[i]: row.clone() for i, row in zip(part, x)})
            cache.save(key)
    finally:
        cache.save(key)
    return len(todo)


def cached_views(s, samples: list[Sample], view_transforms: dict, views: int) -> CachedViews:
    """Features of `samples` for each named fixed view (name -> transform) and `views` augmented passes."""
    cfg, side = s.cfg, s.pre.decode_side
    cache = FeatureCache(default_folder() if cfg.feature_cache else None)
    digests = [file_sha256(x.path) for x in samples]
    base = {"backbone": cfg.model, "weights": weights_id(cfg), "pre": s.pre, "compute": compute_id(s.dev)}
    common = {"model": s.model, "entry": s.entry, "dev": s.dev, "batch_size": cfg.batch_size, "seed": cfg.seed}
    out, computed = {}, {}
    jobs = [(ViewKey(**base, view=name), lambda idx, t=t: ImageDataset([samples[i] for i in idx], t, min_side=side))
            for name, t in view_transforms.items()]
    for v in range(views):
        seeds = [augment_seed(d, cfg.seed, v) for d in digests]
        make = lambda idx, seeds=seeds: SeededAugment([samples[i] for i in idx], [seeds[i] for i in idx],  # noqa: E731
                                                      s.pre, cfg.min_scale, cfg.jitter, side)
        jobs.append((ViewKey(**base, view=f"augmented-{v}", augment=(cfg.seed, cfg.min_scale, cfg.jitter)), make))
    for key, make in jobs:
        computed[key.view] = _fill(cache, key, make, samples, digests, common)
        out[key.view] = torch.stack([cache.table(key)[d] for d in digests])
    return CachedViews(out, computed)
