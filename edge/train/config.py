"""Training configuration: dataclass defaults < config file (TOML/YAML/JSON) < CLI flags."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import tomllib

from edge.errors import EdgeError

STRATEGIES = ("auto", "feature-extract", "finetune")


@dataclass(frozen=True)
class TrainConfig:
    data: str = ""
    out: str = "runs/latest"
    model: str = "efficientnet_lite0"
    strategy: str = "auto"  # auto | feature-extract | finetune
    epochs: int | None = None  # None: the strategy's default (finetune 15, refine 4, head 30)
    head_epochs: int = 30  # epochs of head training on cached features
    feature_views: int = 4  # augmented views per training image when caching features
    cache_features: bool = True  # feature-extract: train the head on cached backbone features
    batch_size: int = 32
    lr_backbone: float = 1e-5  # AdamW base LRs (OneCycle starts from max_lr / div_factor)
    lr_head: float = 1e-3
    max_lr_backbone: float = 1e-4  # OneCycle peaks
    max_lr_head: float = 1e-2
    refine_max_lr_head: float = 1e-3  # head peak in auto's small-LR fine-tune after the head phase
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    dropout: float = 0.2
    min_scale: float = 0.6  # RandomResizedCrop scale lower bound
    jitter: float = 0.3  # ColorJitter brightness/contrast/saturation
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # CUDA only: bf16 where supported, else fp16 with a grad scaler
    channels_last: bool = True  # NHWC memory format: faster convs on CUDA and on this x86 CPU (1.8x fwd+bwd)
    freeze_bn: bool = True  # fine-tune with BatchNorm statistics frozen (eval mode); affine params still train
    num_workers: int = -1  # -1: sized to the machine
    pretrained: bool = True
    weights: str | None = None  # local ImageNet state dict instead of the download
    image_size: int | None = None  # override the zoo input size (crop), keeping the resize ratio

    def validate(self) -> TrainConfig:
        if self.strategy not in STRATEGIES:
            raise EdgeError(f"--strategy must be one of {', '.join(STRATEGIES)}, got '{self.strategy}'")
        if self.device not in ("auto", "cpu", "cuda"):
            raise EdgeError(f"--device must be auto, cpu or cuda, got '{self.device}'")
        for name in ("batch_size", "head_epochs", "feature_views"):
            if getattr(self, name) < 1:
                raise EdgeError(f"config '{name}' must be >= 1")
        if self.epochs is not None and self.epochs < 1:
            raise EdgeError("--epochs must be >= 1")
        if not 0.0 < self.val_fraction < 1.0:
            raise EdgeError("config 'val_fraction' must be between 0 and 1")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EdgeError(f"{path}: cannot read config ({exc.strerror})") from None
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
        raise EdgeError(f"{path}: invalid config file ({exc})") from None
    raise EdgeError(f"{path}: config must be .toml, .yaml or .json")


def load_config(file: str | Path | None, overrides: dict[str, Any]) -> TrainConfig:
    """Defaults, then the file's keys, then every CLI flag that was actually given."""
    known = {f.name for f in fields(TrainConfig)}
    values: dict[str, Any] = {}
    if file is not None:
        data = _read_file(Path(file))
        unknown = set(data) - known
        if unknown:
            raise EdgeError(f"{file}: unknown config key(s) {', '.join(sorted(unknown))}")
        values.update(data)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return replace(TrainConfig(), **values).validate()
    except TypeError as exc:
        raise EdgeError(f"invalid config: {exc}") from None
