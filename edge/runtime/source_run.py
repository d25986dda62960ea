"""Run one SOURCE of `edge-infer` through the pipeline that fits it: stdin and files, or the live loop.

The live loop (`run_live`) is the one every live run goes through: plain edge-infer on a video, a camera,
picam or a stream; --serve, --on-change, --mqtt, --gpio and --record (edge.serve and edge.actions hang
their hooks on it); and each source of several (edge.runtime.multi_source).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from edge.errors import EdgeError
from edge.runtime import pipeline, sources
from edge.runtime.capture_size import CaptureRequest, capture_request
from edge.runtime.classifier import Classifier, Prediction
from edge.runtime.imx500_camera import SensorNetwork, sensor_network
from edge.runtime.options import InferOptions
from edge.runtime.reopen import SourceHealth, reconnecting_frames
from edge.runtime.sources import Frame
from edge.runtime.timing import Summary
from edge.runtime.updates.start import between_frames

Emit = Callable[[Prediction], None]
Report = Callable[[str], None]
OnFrame = Callable[[Frame, Prediction, Summary], None]  # run_frames' on_frame: after each answer
Hook = Callable[[OnFrame | None], OnFrame | None]  # hook(sink) -> on_frame (edge.serve: its hub and the event core)
Frames = Callable[[Iterable[Frame]], Iterable[Frame]]  # a stage the frames pass through on their way to the model
LiveLoop = Callable[..., Summary]  # loop(hook=unchanged, gate=unchanged): a live SOURCE's run, for edge.serve
NAMES_SHOWN = 5  # files left out of a folder run: this many named, the rest counted


def unchanged(x):
    """A hook that adds nothing: the sink as on_frame, the frames as they come."""
    return x


def frame_sink(opts: InferOptions, kind: str):
    """The --show window / --save video writer, or None."""
    if not (opts.show or opts.save):
        return None
    from edge.runtime.annotate import FrameSink

    fps = sources.video_fps(opts.source) if kind == "video" else None
    return FrameSink(opts.show, opts.save, fps / max(opts.stride, 1) if fps else None)


def realtime(opts: InferOptions) -> bool:
    """--realtime: a video file plays at its own frame rate. Default: on with --serve (someone watches the
    page, and a clip should not be over in seconds), off otherwise (a file is read as fast as it classifies)."""
    return opts.realtime if opts.realtime is not None else opts.serve is not None


def file_frames(opts: InferOptions) -> Iterator[Frame]:
    """A video file's every --stride-th frame; from the start again with --loop; with --realtime at the
    file's own rate (a faster model waits; a slower one plays slower, never bursting to catch up)."""
    fps = sources.video_fps(opts.source) if realtime(opts) else None
    period = opts.stride / fps if fps else 0.0
    start, n = time.perf_counter(), 0
    while True:
        count = 0
        for frame in sources.video_frames(opts.source, opts.stride):
            if period:
                due, now = start + n * period, time.perf_counter()
                if due > now:
                    time.sleep(due - now)
                elif now - due > period:  # behind by more than a frame: keep pace from here
                    start = now - n * period
            n, count = n + 1, count + 1
            yield frame
        if not opts.loop or count == 0:
            return


def live_frames(opts: InferOptions, kind: str, health=None, sensor: SensorNetwork | None = None,
                capture: CaptureRequest | None = None) -> tuple[Iterator[Frame], Callable[[], None]]:
    """(frames, close) for a video file, the Pi camera or an OpenCV camera / stream URL. A camera, stream
    or picam that is lost is reopened until it is back (edge.runtime.reopen); `health` tells meanwhile.
    `sensor`: the network an AI Camera runs on its sensor (edge.runtime.imx500_camera.sensor_network).
    `capture`: the size the model needs, asked of a camera (edge.runtime.capture_size); None: its own size."""
    if kind == "video":
        frames = file_frames(opts)
        if opts.max_frames:
            frames = (f for _, f in zip(range(opts.max_frames), frames))
        return frames, lambda: None
    return reconnecting_frames(kind, opts.source, health or SourceHealth(), opts.max_frames, sensor=sensor,
                               capture=capture)


def left_out_line(paths: list[Path]) -> str:
    from edge.runtime.images import IMAGE_SUFFIXES

    names = ", ".join(str(p) for p in paths[:NAMES_SHOWN]) + (f" and {len(paths) - NAMES_SHOWN} more"
                                                             if len(paths) > NAMES_SHOWN else "")
    return (f"left out {len(paths)} file{'' if len(paths) == 1 else 's'} without an image extension "
            f"({' '.join(sorted(IMAGE_SUFFIXES))}): {names}; name a file to classify it anyway")


def run_live(clf: Classifier, opts: InferOptions, kind: str, summary: Summary, emit: Emit, *,
             hook: Hook = unchanged, gate: Frames = unchanged, between: Frames = unchanged, collect=None,
             sensor: SensorNetwork | None = None, capture: CaptureRequest | None = None) -> Summary:
    """The live loop: the source's frames (through `gate`, then `between`) one at a time, each answer to `emit`
    and to `hook(sink)`, the --save/--show sink wrapped by --collect. `hook`: edge.serve's hub and the event
    core; `gate`: the event core's pause switch (edge.actions); `between`: where --update-from swaps the model;
    `sensor`, `capture`: live_frames'. `summary` times the frames alone (not the opening, not idle serving)."""
    sink = frame_sink(opts, kind)
    frames, close = live_frames(opts, kind, summary.source, sensor, capture)
    frames = between(gate(frames))
    summary.started = time.perf_counter()
    try:
        return pipeline.run_frames(clf, frames, k=opts.top_k, emit=emit, summary=summary,
                                   on_frame=hook(collect.frame_hook(sink) if collect else sink))
    finally:
        summary.stop()
        close()
        if sink is not None:
            sink.close()


def source_loop(clf: Classifier, opts: InferOptions, kind: str, summary: Summary, emit: Emit, collect=None,
                report: Report | None = None) -> LiveLoop:
    """`loop(hook, gate)` runs the live SOURCE through run_live with what this run adds: an AI Camera's network
    on its sensor, the capture size the model asks of a camera, --update-from's swap between two frames."""
    sensor = sensor_network(clf, kind, report)  # an AI Camera runs the imx500 artifact on its sensor (picam only)

    def loop(hook: Hook = unchanged, gate: Frames = unchanged) -> Summary:
        return run_live(clf, opts, kind, summary, emit, hook=hook, gate=gate, between=lambda f: between_frames(clf, f),
                        collect=collect, sensor=sensor, capture=capture_request(opts, clf.manifest))

    return loop


def run_files(clf: Classifier, opts: InferOptions, kind: str, summary: Summary, emit: Emit,
              on_error: pipeline.Failed, collect=None, report: Report | None = None) -> Summary:
    """stdin or photos (kind 'stdin' or 'images'). `collect`: an edge.runtime.collect.Collector (--collect) that
    sees every answer; None without it. `report`: where the files a folder run leaves out are listed."""
    sensor_network(clf, kind, report)  # the imx500 artifact runs on the AI Camera's sensor: refused here
    if kind == "stdin":
        return pipeline.run_bytes(clf, sources.read_stdin(), opts.top_k, emit, summary)
    paths, left_out = sources.find_images(opts.source)
    if left_out and report is not None:
        report(left_out_line(left_out))
    if not paths:
        raise EdgeError(f"{opts.source}: no images found (looked for .jpg .png .bmp .webp .tif ...)")
    return pipeline.run_images(clf, paths, k=opts.top_k, batch_size=opts.batch_size, workers=opts.workers,
                               emit=collect.photo_hook(emit) if collect else emit, on_error=on_error,
                               summary=summary)
