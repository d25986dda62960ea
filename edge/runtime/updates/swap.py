"""The classifier a live run holds while updates are on: it reads through to the model it holds now,
and the updater swaps that model between two frames.

The live loop pulls its frames through `frames()`: a swap asked for lands there, before the next frame
is handed out, so no frame is preprocessed by one model and run by the other, and none is lost. The
same place keeps a copy of a frame every half second: the new model's self-test runs on those. While a
new model is on trial, a failure of it answers the frame with the model before it, and swaps that one
back at once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np

from edge.runtime.updates.files import manifest_version

SAMPLE_EVERY_S = 0.5  # one kept frame per half second: the last 16 cover 8 s
SAMPLES_KEPT = 16
TIMES_KEPT = 300  # the loop's inference times kept per model (a 30 fps minute is 1800; 10 s here)
FRAMES_FLOW_S = 1.0  # frames came this recently: a swap waits for the next one


def input_shape(clf) -> tuple[int, ...]:
    """The shape one preprocessed image has for this model (Preprocessor's output)."""
    c, h, w = clf.manifest.input_size
    return (c, h, w) if clf.manifest.layout == "NCHW" else (h, w, c)


class SwappableClassifier:
    """Looks like a Classifier: every attribute reads through to the model held now (`model`)."""

    def __init__(self, clf):
        self.model = clf
        self.previous = None  # the model swapped out, kept (and used after a failure) while the new one is on trial
        self.updater = None  # the Updater that owns this holder (POST /v1/model, MQTT find it here)
        self.failure: str | None = None  # why the model on trial failed in the loop (the updater reads it)
        self.samples: deque[np.ndarray] = deque(maxlen=SAMPLES_KEPT)  # copies of recent frames (BGR)
        self.times: dict[int, deque[float]] = {}  # id(model) -> the loop's inference times (ms)
        self.swapped_at_frame: int | None = None  # the index of the first frame the new model answered
        self._lock = threading.Lock()
        self._pending = None
        self._applied = threading.Event()
        self._loop_thread: int | None = None
        self._last_sample = 0.0
        self._last_frame = 0.0
        self._last_index: int | None = None

    def __getattr__(self, name: str):
        return getattr(self.model, name)

    @property
    def version(self) -> str:
        return manifest_version(self.model.manifest)

    # -- the live loop's thread --------------------------------------------------------------------
    def frames(self, frames: Iterable) -> Iterator:
        """The source's frames; a pending swap lands between two of them."""
        self._loop_thread = threading.get_ident()
        for frame in frames:
            now = time.monotonic()
            self._last_frame, self._last_index = now, getattr(frame, "index", None)
            if self._pending is not None:
                self._apply(self._last_index)
            bgr = getattr(frame, "bgr", None)
            if bgr is not None and now - self._last_sample >= SAMPLE_EVERY_S:
                self._last_sample = now
                self.samples.append(bgr.copy())
            yield frame

    def answers(self, batch: np.ndarray, k: int):
        model = self._model_for(batch)
        start = time.perf_counter()
        try:
            out = model.answers(batch, k)
        except Exception as exc:
            fallback = self._failed(model, exc)
            if fallback is None:
                raise
            return fallback.answers(batch, k)
        ms = (time.perf_counter() - start) * 1000
        if threading.get_ident() == self._loop_thread and len(batch) == 1:
            self.times.setdefault(id(model), deque(maxlen=TIMES_KEPT)).append(ms)
        return out

    def _model_for(self, batch: np.ndarray):
        """The model held now; a request preprocessed for the model just swapped out (a different input
        shape, decoded on another thread before the swap) goes to that one."""
        model, previous = self.model, self.previous
        if previous is not None and batch.shape[1:] != input_shape(model) and batch.shape[1:] == input_shape(previous):
            return previous
        return model

    def _failed(self, model, exc: Exception):
        """The model on trial failed: swap the previous one back now and answer with it."""
        with self._lock:
            if model is not self.model or self.previous is None or self.failure is not None:
                return None
            self.failure = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}".rstrip(": ")
            self.model, self.previous = self.previous, None
            return self.model

    def _apply(self, index: int | None) -> None:
        with self._lock:
            new, self._pending = self._pending, None
            if new is None:
                return
            self.previous, self.model = self.model, new
            self.failure, self.swapped_at_frame = None, index
            self.samples.clear()
        self._applied.set()

    # -- the updater's thread ----------------------------------------------------------------------
    def swap(self, new, wait_s: float = 2.0) -> None:
        """Hold `new` from the next frame on (at once when no frames flow: API only, paused or lost source)."""
        self._applied.clear()
        with self._lock:
            self._pending = new
        flowing = time.monotonic() - self._last_frame < FRAMES_FLOW_S
        if not (flowing and self._applied.wait(wait_s)):
            self._apply(None)

    def roll_back(self) -> bool:
        """Hold the previous model again (after a trial failed outside the loop: latency). False if there is none."""
        with self._lock:
            if self.previous is None:
                return False
            self.model, self.previous = self.previous, None
            return True

    def end_trial(self) -> None:
        """The new model passed its first minute: let the old one go."""
        with self._lock:
            old, self.previous = self.previous, None
        if old is not None:
            self.times.pop(id(old), None)

    def live_ms(self, model=None) -> list[float]:
        return list(self.times.get(id(model if model is not None else self.model), ()))
