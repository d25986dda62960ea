"""Run a Classifier over a source: batched, with decoding overlapped with inference."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.runtime.classifier import Classifier, Prediction
from edge.runtime.sources import Frame
from edge.runtime.timing import Summary

Emit = Callable[[Prediction], None]
Failed = Callable[[str, str], None]  # (source, one-line error)


def _decode_and_preprocess(clf: Classifier, path: Path) -> tuple[Path, np.ndarray | None, float, float, str]:
    """Runs on a worker thread: Pillow releases the GIL while decoding and resizing."""
    start = time.perf_counter()
    try:
        img = clf.preprocess.load(path)  # the manifest's decode (a JPEG drafted to the resize size)
    except EdgeError as exc:
        return path, None, 0.0, 0.0, str(exc)
    decoded = time.perf_counter()
    x = clf.preprocess(img)
    return path, x, (decoded - start) * 1000, (time.perf_counter() - decoded) * 1000, ""


def _prefetch(clf: Classifier, paths: list[Path], workers: int, window: int) -> Iterator[tuple]:
    """Decode ahead in a bounded window, yielding results in input order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        it = iter(paths)
        for path in it:
            pending.append(pool.submit(_decode_and_preprocess, clf, path))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _flush(clf: Classifier, batch: list[tuple], k: int, summary: Summary, emit: Emit) -> None:
    start = time.perf_counter()
    answers = clf.answers(np.stack([x for _, x, *_ in batch]), k)
    per_image = (time.perf_counter() - start) * 1000 / len(batch)
    for (path, _, decode_ms, pre_ms, _), (top, unknown, score) in zip(batch, answers):
        summary.add("inference", per_image)
        prediction = Prediction(str(path), top, None, {"decode": decode_ms, "preprocess": pre_ms,
                                                       "inference": per_image}, unknown, score)
        summary.count(prediction)
        emit(prediction)


def run_images(clf: Classifier, paths: list[Path], *, k: int, batch_size: int, workers: int, emit: Emit,
               on_error: Failed, summary: Summary) -> Summary:
    """Classify files in batches; a file that cannot be decoded is counted and passed to `on_error`."""
    batch: list[tuple] = []
    for item in _prefetch(clf, paths, workers, window=batch_size * 2 + workers):
        path, x, decode_ms, pre_ms, error = item
        if x is None:
            summary.failed += 1
            on_error(str(path), error)
            continue
        summary.add("decode", decode_ms)
        summary.add("preprocess", pre_ms)
        batch.append(item)
        if len(batch) == batch_size:
            _flush(clf, batch, k, summary, emit)
            batch = []
    if batch:
        _flush(clf, batch, k, summary, emit)
    return summary


def run_frames(clf: Classifier, frames: Iterable[Frame], *, k: int, emit: Emit, summary: Summary,
               on_frame: Callable[[Frame, Prediction, Summary], None] | None = None) -> Summary:
    """One frame at a time (a live source has no batch to wait for)."""
    for frame in frames:
        start = time.perf_counter()
        if frame.outputs is None:
            x = clf.preprocess.frame(frame.bgr if frame.to_classify is None else frame.to_classify)[None]
            mid = time.perf_counter()
            top, unknown, score = clf.answers(x, k)[0]
        else:  # an AI Camera ran the network on its sensor: the CPU reads its output tensor, nothing more
            mid = start
            top, unknown, score = clf.decide(frame.outputs, k)[0]
        end = time.perf_counter()
        latency = {"decode": frame.decode_ms, "preprocess": (mid - start) * 1000, "inference": (end - mid) * 1000}
        for stage, ms in latency.items():
            summary.add(stage, ms)
        prediction = Prediction(frame.source, top, frame.index, latency, unknown, score)
        summary.count(prediction)
        emit(prediction)
        if on_frame is not None:
            on_frame(frame, prediction, summary)
    return summary


def run_bytes(clf: Classifier, data: bytes, k: int, emit: Emit, summary: Summary) -> Summary:
    start = time.perf_counter()
    img = clf.preprocess.load(data, name="stdin")
    mid = time.perf_counter()
    x = clf.preprocess(img)[None]
    pre = time.perf_counter()
    top, unknown, score = clf.answers(x, k)[0]
    latency = {"decode": (mid - start) * 1000, "preprocess": (pre - mid) * 1000,
               "inference": (time.perf_counter() - pre) * 1000}
    for stage, ms in latency.items():
        summary.add(stage, ms)
    prediction = Prediction("-", top, None, latency, unknown, score)
    summary.count(prediction)
    emit(prediction)
    return summary
