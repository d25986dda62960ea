"""Several live sources in one process (`edge-infer MODEL door=0 porch=rtsp://cam/live`): one model, a
thread per source, and one inference thread that runs the frames ready together as one batch.

Each source thread reads and preprocesses its own frames and runs the loop a single source runs
(edge.runtime.source_run.run_live, with its own Summary), its model a `BatchedClassifier`: `answers`
hands the frame to the shared `Batcher` and waits for that frame's answer. The batcher takes the first
frame waiting and every other one already waiting (at most one per source), so frames that are ready
together share one call, and a lone frame never waits for a partner. Frames carry the source's name
(edge.runtime.named_sources), so the event core, MQTT, metrics and the page keep each source apart.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from edge.errors import EdgeError
from edge.runtime.batching import next_batch
from edge.runtime.classifier import Answer, Classifier, Prediction
from edge.runtime.imx500_camera import sensor_network
from edge.runtime.named_sources import SEVERAL, NamedSource, check_several
from edge.runtime.options import InferOptions
from edge.runtime.reopen import live_health
from edge.runtime.source_run import Frames, Hook, LiveLoop, run_live, unchanged
from edge.runtime.sources import Frame
from edge.runtime.timing import Summary

STOP_WAIT_S = 5.0  # at the end, each source thread gets this long to stop (a camera read may block)
ANSWER_POLL_S = 0.5  # a source thread waiting for its answer looks this often whether the batcher still runs


@dataclass
class Job:
    x: np.ndarray  # (n, C, H, W): a source's preprocessed frame(s)
    k: int
    done: threading.Event = field(default_factory=threading.Event)
    answers: list[Answer] | None = None
    error: BaseException | None = None


class Batcher:
    """The one inference thread of several sources: whatever frames wait run as one batch (at most `max_batch`)."""

    def __init__(self, clf: Classifier, max_batch: int):
        self.clf, self.max_batch = clf, max(1, max_batch)
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.batches: Counter[int] = Counter()  # frames per call -> calls
        self.thread = threading.Thread(target=self._loop, name="edge-batcher", daemon=True)
        self.thread.start()

    def answers(self, x: np.ndarray, k: int) -> list[Answer]:
        """What Classifier.answers answers, run together with the other sources' waiting frames."""
        job = Job(x, k)
        self.jobs.put(job)
        while not job.done.wait(ANSWER_POLL_S):
            if not self.thread.is_alive():
                raise EdgeError("several sources: the inference thread has stopped")
        if job.error is not None:
            raise job.error
        return job.answers

    def _loop(self) -> None:
        while (batch := next_batch(self.jobs, self.max_batch)) is not None:
            self._run(batch)

    def _run(self, batch: list[Job]) -> None:
        try:
            answers = self.clf.answers(np.concatenate([j.x for j in batch]), max(j.k for j in batch))
        except BaseException as exc:  # noqa: BLE001 - the sources' threads raise it, this thread lives on
            for j in batch:
                j.error = exc
                j.done.set()
            return
        self.batches[len(batch)] += 1
        start = 0
        for j in batch:
            j.answers = [(top[:j.k], unknown, score) for top, unknown, score in answers[start:start + len(j.x)]]
            start += len(j.x)
            j.done.set()

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=STOP_WAIT_S)

    def line(self) -> str:
        calls = sum(self.batches.values())
        shares = ", ".join(f"{n} frame{'s' if n > 1 else ''} {100 * c / max(calls, 1):.0f}%"
                           for n, c in sorted(self.batches.items()))
        return f"inference calls: {calls} ({shares or 'none'})"


class BatchedClassifier:
    """A source thread's model: the shared Classifier, its `answers` through the Batcher."""

    def __init__(self, clf: Classifier, batcher: Batcher):
        self.clf, self.batcher = clf, batcher

    def answers(self, batch: np.ndarray, k: int) -> list[Answer]:
        return self.batcher.answers(batch, k)

    def __getattr__(self, name: str):
        return getattr(self.clf, name)  # preprocess, labels, manifest, threshold: the shared model's


@dataclass
class SourceRun:
    source: NamedSource
    opts: InferOptions  # the run's options with this one SOURCE (--stride, --max-frames, --loop apply per source)
    summary: Summary  # this source's own: frames, fps, latencies, a camera's losses


def max_batch(clf: Classifier, sources: int) -> int:
    """One frame per source at most; OpenVINO compiles a request per batch size and keeps MAX_SHAPES."""
    return min(sources, getattr(clf.backend, "MAX_SHAPES", sources))


def locked(emit: Callable[[Prediction], None]) -> Callable[[Prediction], None]:
    """The printer, called from every source thread: one line at a time."""
    lock = threading.Lock()

    def emit_one(prediction: Prediction) -> None:
        with lock:
            emit(prediction)

    return emit_one


def named_frames(frames: Iterable[Frame], name: str, stop: threading.Event) -> Iterator[Frame]:
    """The source's frames under its name, until `stop` (another source failed, or the run ends)."""
    for frame in frames:
        if stop.is_set():
            return
        yield replace(frame, source=name)


def several_loop(clf: Classifier, opts: InferOptions, summary: Summary, emit, collect=None,
                 report: Callable[[str], None] | None = None) -> LiveLoop:
    """`loop(hook, gate)` runs every source of `opts` on its own thread through the live loop (run_live), `hook`
    and `gate` on each (edge.serve: its hub and the event core; edge.actions: the pause switch). -> `summary`,
    the sum of all sources, each source's own in `summary.parts`. A source's failure stops the others and
    is raised again here."""
    found = check_several(opts)
    sensor_network(clf, SEVERAL, report)  # the imx500 artifact runs on one AI Camera's sensor: refused here
    emit = locked(emit)

    def loop(hook: Hook = unchanged, gate: Frames = unchanged) -> Summary:
        if report is not None:
            report("sources: " + ", ".join(f"{s.name}={s.spec}" for s in found) + " (one model, a thread each)")
        runs = [SourceRun(s, replace(opts, source=s.spec, sources=[s.spec]), Summary(source=live_health(s.kind, s.spec)))
                for s in found]
        summary.parts = {run.source.name: run.summary for run in runs}
        batcher = Batcher(clf, max_batch(clf, len(runs)))
        model, stop, errors = BatchedClassifier(clf, batcher), threading.Event(), []

        def run_one(run: SourceRun) -> None:
            try:
                run_live(model, run.opts, run.source.kind, run.summary, emit, hook=hook, collect=collect,
                         gate=lambda frames: gate(named_frames(frames, run.source.name, stop)))
            except BaseException as exc:  # noqa: BLE001 - raised again by loop(), in the caller's thread
                errors.append(exc)
                stop.set()

        threads = [threading.Thread(target=run_one, args=(run,), name=f"edge-source-{run.source.name}", daemon=True)
                   for run in runs]
        summary.started = time.perf_counter()
        for thread in threads:
            thread.start()
        try:
            for thread in threads:  # until all end, or one fails (joined in steps: Ctrl-C and failures get through)
                while thread.is_alive() and not stop.is_set():
                    thread.join(0.2)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=STOP_WAIT_S)
            batcher.close()
            add_up(summary, runs)
            if report is not None:
                report(batcher.line())
        if errors:
            raise errors[0]
        return summary

    return loop


def add_up(summary: Summary, runs: list[SourceRun]) -> None:
    """The run's summary as the sum of its sources' (img/s: all frames over the run's time)."""
    summary.classified = sum(r.summary.classified for r in runs)
    summary.unknown = sum(r.summary.unknown for r in runs)
    summary.failed = sum(r.summary.failed for r in runs)
    for stage in summary.stages:
        summary.stages[stage] = [ms for r in runs for ms in r.summary.stages[stage]]
    summary.ended = max((r.summary.ended for r in runs if r.summary.ended is not None), default=None)
    if summary.ended is None:
        summary.stop()

