"""The run folder as a type: the one module that spells its file names (edge.export_dir does the export folder's).

Torch-free (core layer): train writes a run through it; export, bench and review read one through it;
edge.ownership recognises one by its config and split. Nobody else spells `split.json` or `metrics.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.errors import EdgeError
from edge.export_dir import LABELS_FILE, MANIFEST_FILE

CONFIG_FILE = "config.json"  # the resolved TrainConfig: written first, what --resume reads
SPLIT_FILE = "split.json"  # which photos trained and which were held out; its hash is the run's source_sha256
OOF_FILE = "oof.json"  # every evaluated photo's out-of-fold prediction (edge.train.oof), for `edge review`
METRICS_FILE = "metrics.json"  # the report; written last, so its presence means the run finished
CHECKPOINT_FILE = "checkpoint.pt"  # the deployed model (last epoch, or the head refit on every photo): what export uses
LAST_FILE = "last.pt"  # latest epoch with optimizer state: what --resume uses


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def split_path(self) -> Path:
        return self.root / SPLIT_FILE

    @property
    def oof_path(self) -> Path:
        return self.root / OOF_FILE

    @property
    def metrics_path(self) -> Path:
        return self.root / METRICS_FILE

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_FILE

    @property
    def labels_path(self) -> Path:
        return self.root / LABELS_FILE

    @property
    def checkpoint_path(self) -> Path:
        return self.root / CHECKPOINT_FILE

    @property
    def last_path(self) -> Path:
        return self.root / LAST_FILE

    def is_finished(self) -> bool:
        return self.metrics_path.is_file()

    def metrics(self) -> dict[str, Any] | None:
        """metrics.json as written; None when the run has none (unfinished, or only a checkpoint was copied)."""
        if not self.metrics_path.is_file():
            return None
        try:
            data = json.loads(self.metrics_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EdgeError(f"{self.metrics_path}: cannot read the run's metrics ({type(exc).__name__}); "
                            "retrain the run") from None
        return data if isinstance(data, dict) else None
