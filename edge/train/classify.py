"""`edge classify PHOTO`: a quick check that a zoo model and its preprocessing are right."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch

from edge.runtime.images import load_rgb
from edge.train.models import build_imagenet_model
from edge.train.transforms import val_transform
from edge.train.zoo import imagenet_entry


def imagenet_labels() -> list[str]:
    text = resources.files("edge.train").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    return text.splitlines()


@torch.no_grad()
def classify_imagenet(image: Path, model_name: str, weights: Path | None, top_k: int = 5) -> list[tuple[str, float]]:
    entry = imagenet_entry(model_name)
    model = build_imagenet_model(entry, pretrained=True, weights=weights).eval()
    pre = entry.preprocessing  # decoded as `edge export zoo:NAME` then edge-infer would: the same manifest
    x = val_transform(pre)(load_rgb(image, min_side=pre.decode_side)).unsqueeze(0)
    probs = model(x).softmax(1)[0]
    values, indices = probs.topk(top_k)
    labels = imagenet_labels()
    return [(labels[i], float(v)) for v, i in zip(values, indices)]
