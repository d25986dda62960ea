"""The manifest: the one contract between train, export and runtime.

Plain data only (no torch objects, no callables), so the torch-free runtime can read it. It is
written by train next to the checkpoint and embedded in every exported artifact, so nobody ever
retypes mean/std or guesses the resize.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from edge.errors import EdgeError
from edge.preprocessing import Preprocessing

SCHEMA_VERSION = 1
MANIFEST_KEY = "edge_manifest"  # where artifacts carry it: ONNX metadata_props key, OpenVINO rt_info key


@dataclass(frozen=True)
class UnknownSpec:
    """"None of these": the artifact's second output is this score; below `threshold` the answer is "unknown"."""

    score: str  # which score, e.g. "cosine_to_class_mean" (edge.train.openset.SCORES)
    keep: float  # share of held-out in-class photos the threshold keeps
    threshold: float
    thresholds: dict[str, float]  # keep rate ("0.95") -> threshold, measured on the same held-out photos
    photos: int = 0  # held-out in-class photos the thresholds were measured on

    @classmethod
    def from_value(cls, value: Any, source: str = "manifest") -> UnknownSpec | None:
        """A JSON object (or an UnknownSpec) -> UnknownSpec; {} or None -> None (no score)."""
        if not value or isinstance(value, UnknownSpec):
            return value or None
        known = {f.name for f in fields(cls)}
        try:
            spec = cls(**{k: v for k, v in value.items() if k in known})
        except TypeError:
            raise EdgeError(f"{source}: manifest field 'unknown' needs 'score', 'keep', 'threshold' and "
                            "'thresholds'; re-export the model") from None
        if not _valid_unknown(value):
            raise EdgeError(f"{source}: manifest field 'unknown' needs a finite 'threshold' and a 'thresholds' table")
        return spec


@dataclass(frozen=True)
class Manifest:
    schema_version: int  # bumped on any incompatible change; readers refuse unknown versions
    arch: str  # zoo name, e.g. "efficientnet_lite0"
    labels: tuple[str, ...]  # class names, index = logit position
    input_size: tuple[int, int, int]  # (channels, height, width) the model is fed
    # resize, crop, filter, mean/std, decode, frame path: JSON keeps them flat (resize_size, ..., frame_preprocess)
    preprocessing: Preprocessing
    channel_order: str  # "RGB" or "BGR": order of the channels in the input tensor
    layout: str  # "NCHW" or "NHWC"
    precision: str  # fp32 | fp16 | int8: numeric precision of the artifact carrying it
    metrics: dict[str, Any] = field(default_factory=dict)  # e.g. {"val_accuracy": 0.95}
    created_by: dict[str, str] = field(default_factory=dict)  # tool and library versions
    source_sha256: str = ""  # hash of what this was made from (split for a run, checkpoint for exports)
    # Added later, so optional in JSON: a manifest written before them still loads and behaves as before.
    temperature: float = 1.0  # softmax(logits / temperature): fit on held-out predictions so "90%" means 90%
    unknown: UnknownSpec | None = None  # "none of these"; None: the artifact has no unknown score (JSON: {})

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def with_preprocessing(self, **changes: Any) -> Manifest:
        """The same manifest, its preprocessing changed: `m.with_preprocessing(frame_preprocess="exact")`."""
        return replace(self, preprocessing=replace(self.preprocessing, **changes))

    def with_updates(self, **changes: Any) -> Manifest:
        """The same manifest with top-level fields changed (preprocessing's: `with_preprocessing`)."""
        misplaced = sorted(set(changes) & {f.name for f in fields(Preprocessing)})
        if misplaced:
            raise TypeError(f"{', '.join(misplaced)}: a preprocessing field; use Manifest.with_preprocessing")
        if "unknown" in changes:  # training hands the held-out thresholds over as a plain dict
            changes["unknown"] = UnknownSpec.from_value(changes["unknown"])
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: preprocessing's fields sit flat among the others, in _SCHEMA's order."""
        data = asdict(self)
        data.update(data.pop("preprocessing"))
        data["unknown"] = data["unknown"] or {}  # {}: no score, as every manifest before UnknownSpec wrote it
        for key in ("labels", "input_size", "mean", "std"):
            data[key] = list(data[key])
        return {key: data[key] for key in _SCHEMA}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str, source: str = "manifest") -> Manifest:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EdgeError(f"{source}: not valid JSON ({exc}); re-export the model") from None
        return cls.from_dict(data, source)

    @classmethod
    def from_dict(cls, data: Any, source: str = "manifest") -> Manifest:
        if not isinstance(data, dict):
            raise EdgeError(f"{source}: a manifest must be a JSON object")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise EdgeError(
                f"{source}: unknown manifest schema_version {version!r} (this edge reads "
                f"{SCHEMA_VERSION}); upgrade edge or re-export the model"
            )
        values = {}
        for name in _SCHEMA:
            if name in OPTIONAL_FIELDS and name not in data:
                continue
            if name not in data:  # every original field is required in JSON, even those with Python defaults
                raise EdgeError(f"{source}: manifest field '{name}' is missing")
            values[name] = _check(name, data[name], source)
        if "unknown" in values:
            values["unknown"] = UnknownSpec.from_value(values["unknown"], source)
        pre = Preprocessing(**{f.name: values.pop(f.name) for f in fields(Preprocessing) if f.name in values})
        manifest = cls(preprocessing=pre, **values)
        manifest.validate(source)
        return manifest

    def validate(self, source: str = "manifest") -> None:
        if self.channel_order not in ("RGB", "BGR"):
            raise EdgeError(f"{source}: manifest field 'channel_order' must be RGB or BGR")
        if self.layout not in ("NCHW", "NHWC"):
            raise EdgeError(f"{source}: manifest field 'layout' must be NCHW or NHWC")
        if self.precision not in ("fp32", "fp16", "int8"):
            raise EdgeError(f"{source}: manifest field 'precision' must be fp32, fp16 or int8")
        if not self.labels:
            raise EdgeError(f"{source}: manifest field 'labels' is empty")
        pre = self.preprocessing
        if pre.crop_size > pre.resize_size or self.input_size[1:] != (pre.crop_size, pre.crop_size):
            raise EdgeError(f"{source}: manifest fields 'crop_size'/'input_size' disagree")
        pre.validate(source)
        if not (math.isfinite(self.temperature) and 0.01 <= self.temperature <= 100):
            raise EdgeError(f"{source}: manifest field 'temperature' must be a number in 0.01..100")
        if self.input_size[0] != 3:
            raise EdgeError(f"{source}: manifest field 'input_size' must have 3 channels")


# The JSON object, in the order it is written: expected type per key (python type, element type or None,
# fixed length or None). Preprocessing's fields (resize_size ... std, decode, frame_preprocess) are keys here.
_SCHEMA: dict[str, tuple[type, type | None, int | None]] = {
    "schema_version": (int, None, None),
    "arch": (str, None, None),
    "labels": (list, str, None),
    "input_size": (list, int, 3),
    "resize_size": (int, None, None),
    "crop_size": (int, None, None),
    "interpolation": (str, None, None),
    "mean": (list, float, 3),
    "std": (list, float, 3),
    "channel_order": (str, None, None),
    "layout": (str, None, None),
    "precision": (str, None, None),
    "metrics": (dict, None, None),
    "created_by": (dict, None, None),
    "source_sha256": (str, None, None),
    "temperature": (float, None, None),
    "unknown": (dict, None, None),
    "decode": (str, None, None),
    "frame_preprocess": (str, None, None),
}
# Fields newer than schema 1's first release: missing, they take their defaults, which mean what edge
# did before them ("decode": "full"), so schema_version stays 1 and every older manifest still loads.
OPTIONAL_FIELDS = {"temperature", "unknown", "decode", "frame_preprocess"}


def _valid_unknown(unknown: dict) -> bool:
    values = [unknown.get("threshold"), *dict(unknown.get("thresholds") or {}).values()]
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)


def _is(value: Any, kind: type) -> bool:
    if kind is float:  # JSON writes 0.5 and 1 alike; bools are not numbers here
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _check(name: str, value: Any, source: str) -> Any:
    kind, elem, length = _SCHEMA[name]
    if not _is(value, kind):
        raise EdgeError(f"{source}: manifest field '{name}' must be {kind.__name__}, got {type(value).__name__}")
    if kind is list:
        if length is not None and len(value) != length:
            raise EdgeError(f"{source}: manifest field '{name}' must have {length} items")
        if elem is not None and not all(_is(v, elem) for v in value):
            raise EdgeError(f"{source}: manifest field '{name}' must hold {elem.__name__} items")
        return tuple(float(v) for v in value) if elem is float else tuple(value)
    return float(value) if kind is float else value


def read_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EdgeError(f"{path}: cannot read manifest ({exc.strerror}); pass a run or export folder") from None
    except UnicodeDecodeError:
        raise EdgeError(f"{path}: manifest is not UTF-8 text; re-export the model") from None
    return Manifest.from_json(text, str(path))


def write_manifest(manifest: Manifest, path: str | Path) -> Path:
    from edge.atomic import write_text

    return write_text(path, manifest.to_json() + "\n")
