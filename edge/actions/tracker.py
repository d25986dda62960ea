"""The debounced live state of one source, and the `Change` event every action receives.

A new label ('unknown' is a label of its own, decided by the model's threshold) becomes the state once
it holds for `hold` frames in a row at or above `min_confidence`; an unsure frame breaks the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from edge.runtime.classifier import Prediction


@dataclass(frozen=True, kw_only=True)
class Change:
    """The state of `source` became `label`: what the webhook, MQTT (and later GPIO, clips) receive."""

    source: str  # the source as the runtime names it (camera:0, picam, a video path)
    label: str  # the new state: a class name or "unknown"
    previous: str | None  # the state before; None for the first one
    time: str  # UTC, ISO 8601 with milliseconds
    held_frames: int  # frames the label held before it became the state (--hold)
    prediction: Prediction  # the frame that completed the hold
    bgr: np.ndarray | None = None  # a copy of that frame (OpenCV BGR), for snapshots; None when not kept
    clip: str | None = None  # --record: the path of the clip this change is in (written once its --post ends)

    def to_dict(self) -> dict:
        """The JSON event (--on-change body, MQTT `<source>/event`)."""
        return {"event": "label_changed", "source": self.source, "label": self.label, "previous": self.previous,
                "time": self.time, "held_frames": self.held_frames, "prediction": self.prediction.to_dict(),
                **({"clip": self.clip} if self.clip is not None else {})}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Tracker:
    """Feed it every prediction of one source; `observe` answers (previous, new) when the state changes."""

    def __init__(self, *, hold: int, min_confidence: float):
        self.hold, self.min_confidence = hold, min_confidence
        self.state: str | None = None  # the debounced label; None until one has held
        self.candidate: str | None = None
        self.count = 0

    def observe(self, prediction: Prediction) -> tuple[str | None, str] | None:
        label = prediction.label
        if not prediction.unknown and prediction.top[0][1] < self.min_confidence:
            self.candidate, self.count = None, 0  # an unsure frame breaks the run
            return None
        if label != self.candidate:
            self.candidate, self.count = label, 0
        self.count += 1
        if self.count == self.hold and label != self.state:
            previous, self.state = self.state, label
            return previous, label
        return None
