"""Classify requests: decode on a thread pool, then one worker drains up to B queued images into one
batch call. Admission is bounded: a full queue answers 503 at once instead of an unbounded wait."""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from edge.runtime.batching import next_batch
from edge.runtime.classifier import Classifier, Prediction
from edge.serve.decode import decode_request
from edge.serve.errors import HttpError, busy


@dataclass
class Job:
    x: np.ndarray
    k: int
    future: concurrent.futures.Future
    queued: float  # perf_counter when it entered the queue


@dataclass
class Answer:
    prediction: Prediction
    queue_ms: float  # time waiting for the worker (reported in the Server-Timing header)


class InferenceWorker:
    def __init__(self, clf: Classifier, *, batch: int, queue_size: int, decode_threads: int, metrics=None,
                 body_budget: int = 80 * 1024 * 1024):
        self.clf, self.batch, self.queue_size, self.metrics = clf, max(1, batch), max(1, queue_size), metrics
        self.body_budget, self.body_bytes = body_budget, 0  # request bodies held at once, in bytes
        self.pool = concurrent.futures.ThreadPoolExecutor(max(1, decode_threads), thread_name_prefix="edge-decode")
        self.jobs: queue.Queue[Job | None] = queue.Queue()  # unbounded type, bounded by admission
        self.admitted = 0  # requests between admit and answer; only the event loop's thread touches it
        self.thread = threading.Thread(target=self._loop, name="edge-infer-worker", daemon=True)
        self.thread.start()

    @contextmanager
    def admit(self):
        """One slot of the bounded queue for the duration of a request, or 503 when there is none."""
        if self.admitted >= self.queue_size:
            if self.metrics:
                self.metrics.rejected.inc()
            raise busy(f"busy: {self.queue_size} requests already queued; retry shortly")
        self.admitted += 1
        if self.metrics:
            self.metrics.queue_depth.set(self.admitted)
        try:
            yield
        finally:
            self.admitted -= 1
            if self.metrics:
                self.metrics.queue_depth.set(self.admitted)

    @contextmanager
    def hold(self, body: bytes):
        """Bodies in memory at once stay under the budget (32 queued 20 MB bodies would be 640 MB)."""
        if self.body_bytes + len(body) > self.body_budget:
            if self.metrics:
                self.metrics.rejected.inc()
            raise busy(f"busy: {self.body_bytes // 2**20} MB of request bodies are being classified; retry shortly")
        self.body_bytes += len(body)
        try:
            yield
        finally:
            self.body_bytes -= len(body)

    async def classify(self, body: bytes, content_type: str, k: int, timeout_s: float) -> Answer:
        loop = asyncio.get_running_loop()
        try:
            source, x, decode_ms, pre_ms = await loop.run_in_executor(self.pool, decode_request, self.clf.preprocess,
                                                                      body, content_type)
        except HttpError:
            raise
        except Exception as exc:  # anything else a hostile file makes a decoder raise is still bad input
            raise HttpError(400, f"the upload is not a readable image ({type(exc).__name__})") from None
        job = Job(x, k, concurrent.futures.Future(), time.perf_counter())
        self.jobs.put(job)
        try:
            top, unknown, score, infer_ms, queue_ms = await asyncio.wait_for(asyncio.wrap_future(job.future), timeout_s)
        except asyncio.TimeoutError:
            job.future.cancel()
            raise busy(f"busy: no answer within {timeout_s:g} s; retry shortly") from None
        latency = {"decode": decode_ms, "preprocess": pre_ms, "inference": infer_ms}
        return Answer(Prediction(source, top, None, latency, unknown, score), queue_ms)

    def _loop(self) -> None:
        while (batch := next_batch(self.jobs, self.batch)) is not None:
            for chunk in self._chunks([j for j in batch if j.future.set_running_or_notify_cancel()]):
                self._run(chunk)

    def _chunks(self, jobs: list[Job]) -> list[list[Job]]:
        """OpenVINO compiles one request per batch shape and keeps four, so it gets power-of-two
        chunks (5 -> 4 + 1); ONNX Runtime takes any batch in one call."""
        if self.clf.backend.name != "openvino":
            return [jobs] if jobs else []
        chunks, start = [], 0
        while start < len(jobs):
            size = 1 << ((len(jobs) - start).bit_length() - 1)
            chunks.append(jobs[start:start + size])
            start += size
        return chunks

    def _run(self, jobs: list[Job]) -> None:
        start = time.perf_counter()
        try:
            answers = self.clf.answers(np.stack([j.x for j in jobs]), max(j.k for j in jobs))
        except Exception as exc:  # a model failure is the server's: 500 for these requests, the worker lives on
            for j in jobs:
                j.future.set_exception(exc)
            return
        per_image = (time.perf_counter() - start) * 1000 / len(jobs)
        if self.metrics:
            self.metrics.observe_batch(len(jobs), per_image / 1000, [a[1] for a in answers])
        for j, (top, unknown, score) in zip(jobs, answers):
            j.future.set_result((top[:j.k], unknown, score, per_image, (start - j.queued) * 1000))

    def close(self) -> None:
        self.jobs.put(None)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.thread.join(timeout=5)
