"""Training configuration: dataclass defaults < config file (TOML/YAML/JSON) < CLI flags."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

try:  # Python 3.11+
    import tomllib
except ImportError:  # Python 3.10: the same parser, as a package
    import tomli as tomllib

from edge.errors import EdgeError, did_you_mean

STRATEGIES = ("auto", "feature-extract", "finetune")
UNKNOWN_SCORES = ("cosine", "cosine+softmax")  # edge.train.openset.SCORES holds what each computes


@dataclass(frozen=True)
class TrainConfig:
    data: str = ""
    more_data: tuple[str, ...] = ()  # further data folders merged by class name (edge train DATA MORE...)
    out: str = "runs/latest"
    model: str = "efficientnet_lite0"
    strategy: str = "auto"  # auto | feature-extract | finetune
    epochs: int | None = None  # None: the strategy's default (finetune 15, uncached head 10)
    # Augmented views per photo, on top of the centre and mirrored views, when caching features; CV tries
    # 0 and this many. 0 by default: on flowers5 they cost 2/3 of the run and changed no estimate.
    feature_views: int = 0
    cv_folds: int = 5  # cross-validation folds for the head setting and for the accuracy estimate
    unknown_keep: float = 0.95  # share of in-class photos the "unknown" threshold keeps (held-out scores)
    unknown_score: str = "cosine"  # cosine | cosine+softmax (better on unknown look-alikes, worse far away)
    cache_features: bool = True  # feature-extract: cross-validated linear head on cached features
    batch_size: int = 32
    lr_backbone: float = 1e-5  # AdamW base LRs (OneCycle starts from max_lr / div_factor)
    lr_head: float = 1e-3
    max_lr_backbone: float = 1e-4  # OneCycle peaks
    max_lr_head: float = 1e-2
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
    # Recipe choice (edge.train.recipes): the most a recipe may cost in Lite0 FLOPs. 1: --model alone, as
    # before; above 1, every recipe of `recipes` within it is compared to --model on the same folds.
    max_cost: float = 1.0
    target_device: str = ""  # a device profile (edge devices list) whose max_cost is the budget
    recipes: str = ("efficientnet_lite0,efficientnet_lite1,efficientnet_lite2,efficientnet_lite0+efficientnet_lite1,"
                    "efficientnet_lite0+efficientnet_lite2,efficientnet_lite1+efficientnet_lite2,"
                    "efficientnet_lite0+efficientnet_lite1+efficientnet_lite2")  # candidates, comma-separated
    feature_cache: bool = True  # keep per-backbone features under ~/.cache/edge/features (recipe comparison)

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
        if self.cv_folds < 2:
            raise EdgeError("config 'cv_folds' must be >= 2")
        if self.epochs is not None and self.epochs < 1:
            raise EdgeError("--epochs must be >= 1")
        if not 0.0 < self.val_fraction < 1.0:
            raise EdgeError("config 'val_fraction' must be between 0 and 1")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
