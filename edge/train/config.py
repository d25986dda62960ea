"""Training configuration: dataclass defaults < config file (TOML/YAML/JSON) < CLI flags."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

try:  # Python 3.11+
    import tomllib
except ImportError:  # Python 3.10: the same parser, as a package
    import tomli as tomllib

from edge.cli_options import opt, overrides
from edge.errors import EdgeError, did_you_mean

STRATEGIES = ("auto", "feature-extract", "finetune")
UNKNOWN_SCORES = ("cosine", "cosine+softmax")  # edge.train.openset.SCORES holds what each computes


# Every setting is one field here: its default, its config-file key and its `edge train --flag` (the
# metadata: help text and flag, edge.cli_options). Fields without metadata (data, more_data, out) are
# the command's arguments; TrainFlags, below, is every flag as an override of the config file.
@dataclass(frozen=True)
class TrainConfig:
    data: str = ""
    more_data: tuple[str, ...] = ()  # further data folders merged by class name (edge train DATA MORE...)
    out: str = "runs/latest"
    model: str = field(default="efficientnet_lite0", metadata=opt(
        "Zoo model name (efficientnet_lite0/1/2, mobilenet_v3_*, ...); backbones joined by + make one model "
        "(efficientnet_lite0+efficientnet_lite1)."))
    strategy: str = field(default="auto", metadata=opt("auto | feature-extract | finetune."))
    epochs: int | None = field(default=None, metadata=opt("SGD epochs (None: finetune 15, uncached head 10)."))
    # 0 by default: on flowers5 augmented views cost 2/3 of the run and changed no estimate.
    feature_views: int = field(default=0, metadata=opt(
        "Augmented views per photo for the cached-feature head (CV tries 0 and N)."))
    cv_folds: int = field(default=5, metadata=opt(
        "Cross-validation folds for the head setting and for the accuracy estimate."))
    unknown_keep: float = field(default=0.95, metadata=opt(
        "Share of held-out in-class photos the 'unknown' threshold keeps."))
    unknown_score: str = field(default="cosine", metadata=opt(
        "cosine | cosine+softmax ('unknown' score: +softmax catches look-alikes of the classes better, "
        "far-away images worse)."))
    cache_features: bool = field(default=True, metadata=opt(
        "Feature-extract: cross-validated linear head on cached features (off: run the frozen backbone every "
        "epoch).", "--cache-features/--no-cache-features"))
    batch_size: int = field(default=32, metadata=opt("Batch size."))
    lr_backbone: float = field(default=1e-5, metadata=opt(
        "AdamW base LR of the backbone (OneCycle starts from max_lr / div_factor)."))
    lr_head: float = field(default=1e-3, metadata=opt("AdamW base LR of the head."))
    max_lr_backbone: float = field(default=1e-4, metadata=opt("OneCycle peak LR of the backbone."))
    max_lr_head: float = field(default=1e-2, metadata=opt("OneCycle peak LR of the head."))
    weight_decay: float = field(default=1e-4, metadata=opt("AdamW weight decay."))
    label_smoothing: float = field(default=0.1, metadata=opt("Cross-entropy label smoothing."))
    dropout: float = field(default=0.2, metadata=opt("Dropout before the new Linear head."))
    min_scale: float = field(default=0.6, metadata=opt("RandomResizedCrop scale lower bound."))
    jitter: float = field(default=0.3, metadata=opt("ColorJitter brightness/contrast/saturation."))
    val_fraction: float = field(default=0.2, metadata=opt("Held-out fraction per class (finetune)."))
    seed: int = field(default=0, metadata=opt("Seed for split, folds, init and augmentation."))
    device: str = field(default="auto", metadata=opt("auto | cpu | cuda."))
    amp: bool = field(default=True, metadata=opt(
        "CUDA only: bf16 where supported, else fp16 with a grad scaler.", "--amp/--no-amp"))
    channels_last: bool = field(default=True, metadata=opt(
        "NHWC memory format (faster convs on CUDA and on x86: 1.8x fwd+bwd measured).",
        "--channels-last/--no-channels-last"))
    freeze_bn: bool = field(default=True, metadata=opt(
        "Fine-tune with BatchNorm statistics frozen (affine parameters still train).", "--freeze-bn/--no-freeze-bn"))
    num_workers: int = field(default=-1, metadata=opt("DataLoader workers (-1: sized to the machine)."))
    pretrained: bool = field(default=True, metadata=opt(
        "ImageNet weights (--no-pretrained: random init).", "--pretrained/--no-pretrained"))
    weights: str | None = field(default=None, metadata=opt(
        "Local ImageNet state dict for the backbone, instead of the download."))
    image_size: int | None = field(default=None, metadata=opt("Input size override (crop); resize keeps the ratio."))
    # Recipe choice (edge.train.recipes): 1: --model alone, as before; above 1, every recipe of `recipes`
    # within it is compared to --model on the same folds.
    max_cost: float = field(default=1.0, metadata=opt(
        "Budget in EfficientNet-Lite0 FLOPs: above 1, auto compares the recipes within it on the same folds (e.g. 3)."))
    target_device: str = field(default="", metadata=opt("Device profile whose budget is --max-cost (edge devices list)."))
    recipes: str = field(default="efficientnet_lite0,efficientnet_lite1,efficientnet_lite2,efficientnet_lite0+efficientnet_lite1,"
                         "efficientnet_lite0+efficientnet_lite2,efficientnet_lite1+efficientnet_lite2,"
                         "efficientnet_lite0+efficientnet_lite1+efficientnet_lite2",
                         metadata=opt("Candidate recipes for --max-cost, comma-separated."))
    feature_cache: bool = field(default=True, metadata=opt(
        "Keep each photo's features in ~/.cache/edge/features ($EDGE_CACHE/features): a retrain or --resume "
        "computes only new photos.", "--feature-cache/--no-feature-cache"))
    unknown_as_class: bool = field(default=False, metadata=opt(
        "Train an unknown/ folder as a class (off: it is left out, as the model has its own 'unknown').",
        "--unknown-as-class/--no-unknown-as-class"))

    def validate(self) -> TrainConfig:
        _check_types(self)
        if self.strategy not in STRATEGIES:
            raise EdgeError(f"--strategy must be one of {', '.join(STRATEGIES)}, got '{self.strategy}'")
        if self.device not in ("auto", "cpu", "cuda"):
            raise EdgeError(f"--device must be auto, cpu or cuda, got '{self.device}'")
        if self.batch_size < 1:
            raise EdgeError("config 'batch_size' must be >= 1")
        if self.feature_views < 0:
            raise EdgeError("config 'feature_views' must be >= 0")
        if not 0.5 <= self.unknown_keep < 1.0:
            raise EdgeError("config 'unknown_keep' must be in 0.5..0.999")
        if self.unknown_score not in UNKNOWN_SCORES:
            raise EdgeError(f"--unknown-score must be one of {', '.join(UNKNOWN_SCORES)}, got '{self.unknown_score}'")
        if self.max_cost < 1.0:
            raise EdgeError("--max-cost is in units of EfficientNet-Lite0's FLOPs and must be >= 1")
        if (self.max_cost > 1.0 or self.target_device) and self.strategy == "finetune":
            raise EdgeError("--max-cost and --target-device compare frozen-backbone recipes; --strategy finetune "
                            "trains --model alone: drop one of them")
        if self.cv_folds < 2:
            raise EdgeError("config 'cv_folds' must be >= 2")
        if self.epochs is not None and self.epochs < 1:
            raise EdgeError("--epochs must be >= 1")
        if not 0.0 < self.val_fraction < 1.0:
            raise EdgeError("config 'val_fraction' must be between 0 and 1")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Every setting of TrainConfig as an `edge train` flag that overrides the config file: None when not given.
TrainFlags = overrides(TrainConfig, "TrainFlags")


def _accepts(hint: str, value: Any) -> bool:
    """Does `value` fit a field annotated `hint` ("int", "float | None", ...)? JSON ints pass as floats."""
    if value is None:
        return "None" in hint
    if hint == "tuple[str, ...]":  # a TOML/JSON list of strings
        return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    kinds = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
    allowed = tuple(t for name in hint.replace(" ", "").split("|") for t in kinds.get(name, ()))
    return isinstance(value, allowed) and (bool in allowed or not isinstance(value, bool))


def _check_types(cfg: TrainConfig) -> None:
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        if not _accepts(str(f.type), value):
            raise EdgeError(f"config '{f.name}' must be {f.type}, got {value!r}")


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EdgeError(f"{path}: cannot read config ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise EdgeError(f"{path}: config is not UTF-8 text") from None
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text)
        if path.suffix == ".json":
            return json.loads(text)
        if path.suffix in (".yaml", ".yml"):
            import yaml  # optional: only needed for YAML configs

            return yaml.safe_load(text) or {}
    except ImportError:
        raise EdgeError(f"{path}: YAML configs need PyYAML (pip install pyyaml), or use TOML") from None
    except Exception as exc:
        raise EdgeError(f"{path}: invalid config file ({str(exc)[:120]})") from None
    raise EdgeError(f"{path}: config must be .toml, .yaml or .json")


def _read_mapping(path: Path) -> dict[str, Any]:
    data = _read_file(path)
    if not isinstance(data, dict):
        raise EdgeError(f"{path}: a config file must hold key = value settings")
    return data


def load_config(file: str | Path | None, overrides: dict[str, Any]) -> TrainConfig:
    """Defaults, then the file's keys, then every CLI flag that was actually given."""
    known = {f.name for f in fields(TrainConfig)}
    values: dict[str, Any] = {}
    if file is not None:
        data = _read_mapping(Path(file))
        unknown = set(data) - known
        if unknown:
            hints = "".join(did_you_mean(k, known) for k in sorted(unknown))
            raise EdgeError(f"{file}: unknown config key(s) {', '.join(sorted(unknown))}{hints}")
        values.update(data)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return replace(TrainConfig(), **values).validate()
    except TypeError as exc:
        raise EdgeError(f"invalid config: {exc}") from None
