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
        return read_object(self.metrics_path, "the run's metrics") if self.metrics_path.is_file() else None

    def held_out(self, strategy: str | None) -> bool:
        """Whether the split's val photos stayed out of the deployed model, as train wrote in metrics.json. Runs
        from before it did (or with an unreadable one): only a fine-tune (`strategy`) kept them out, a
        cached-feature head was refit on every photo."""
        try:
            written = (self.metrics() or {}).get("held_out")
        except EdgeError:  # an unreadable metrics.json must not stop an export or a review
            written = None
        return written if isinstance(written, bool) else strategy == "finetune"


def read_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON object a run wrote (`what` names it in the error); EdgeError when unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EdgeError(f"{path}: cannot read {what} ({exc.strerror})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise EdgeError(f"{path}: {what} is not valid JSON ({type(exc).__name__}); retrain the run") from None
    if not isinstance(data, dict):
        raise EdgeError(f"{path}: {what} is not a JSON object; retrain the run")
    return data
