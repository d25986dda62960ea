"""What every format exporter gets: the model, its manifest and the data to check it on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
from torch import nn

from edge.formats import FORMATS
from edge.manifest import Manifest

MAX_DROP_POINTS = 1.0  # default INT8 accuracy drop budget against PyTorch, in points (--max-drop overrides)


@dataclass(kw_only=True)
class ExportJob:
    model: nn.Module  # eval mode, CPU, fixed padding
    manifest: Manifest
    workdir: Path  # the export folder being built (renamed into place at the end)
    val_x: np.ndarray  # preprocessed validation images (N, C, H, W)
    val_y: np.ndarray | None  # their labels; None when there are none (zoo model)
    reference_logits: np.ndarray  # the PyTorch model's logits on val_x
    make_calibration: Callable[[], np.ndarray]  # class-balanced training images, computed once on demand
    threads: int = 2
    max_drop: float | None = None  # INT8 accuracy budget in points (None: MAX_DROP_POINTS)
    fp16_weights: bool = False  # OpenVINO FP32 IR with weights stored as FP16 (half the size)
    notes: dict[str, dict] = field(default_factory=dict)  # per-format details for the report
    unknown_x: np.ndarray | None = None  # non-photos the unknown decision is also checked on
    reference_unknown: np.ndarray | None = None  # PyTorch's unknown score on val_x + unknown_x

    @cached_property
    def calibration(self) -> np.ndarray:
        return self.make_calibration()

    def subset(self, limit: int | None) -> ExportJob:
        """This job on at most `limit` check photos, spread evenly (all of them for None); the synthetic
        non-photos of the unknown check are all kept."""
        n = len(self.val_x)
        if limit is None or n <= limit:
            return self
        keep = np.linspace(0, n - 1, limit).round().astype(int)
        unknown = self.reference_unknown
        return replace(self, val_x=self.val_x[keep], val_y=None if self.val_y is None else self.val_y[keep],
                       reference_logits=self.reference_logits[keep],
                       reference_unknown=None if unknown is None else np.concatenate([unknown[keep], unknown[n:]]))

    @property
    def budget(self) -> float:
        return MAX_DROP_POINTS if self.max_drop is None else self.max_drop

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.manifest.input_size)

    def manifest_for(self, format_name: str) -> Manifest:
        """The manifest a format's artifact carries: the run's, at the precision the format table gives it."""
        return self.manifest.with_updates(precision=FORMATS[format_name].precision)

    def artifact(self, format_name: str) -> Path:
        """Where a format's artifact goes: the path the format table gives it."""
        return self.path(FORMATS[format_name].path)

    def path(self, relative: str) -> Path:
        target = self.workdir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target
