"""Run one SOURCE of `edge-infer` through the pipeline that fits it: stdin, files, a video or a camera."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

from edge.errors import EdgeError
from edge.runtime import pipeline, sources
from edge.runtime.capture_size import CaptureRequest, capture_request
from edge.runtime.classifier import Classifier, Prediction
from edge.runtime.imx500_camera import SensorNetwork, sensor_network
from edge.runtime.options import InferOptions
from edge.runtime.reopen import SourceHealth, reconnecting_frames
from edge.runtime.timing import Summary
from edge.runtime.updates.start import between_frames

Emit = Callable[[Prediction], None]
Report = Callable[[str], None]
NAMES_SHOWN = 5  # files left out of a folder run: this many named, the rest counted


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


def file_frames(opts: InferOptions) -> Iterator[sources.Frame]:
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
                capture: CaptureRequest | None = None) -> tuple[Iterator[sources.Frame], Callable[[], None]]:
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


def run_source(clf: Classifier, opts: InferOptions, kind: str, summary: Summary, emit: Emit,
               on_error: pipeline.Failed, collect=None, report: Report | None = None) -> Summary:
    """`collect`: an edge.runtime.collect.Collecting (--collect) that sees every answer; None without it.
    `report`: where the files a folder run leaves out are listed (stderr from edge-infer)."""
    sensor = sensor_network(clf, kind, report)  # an AI Camera runs the imx500 artifact on its sensor (picam only)
    if kind == "stdin":
        return pipeline.run_bytes(clf, sources.read_stdin(), opts.top_k, emit, summary)
    if kind == "images":
        paths, left_out = sources.find_images(opts.source)
        if left_out and report is not None:
            report(left_out_line(left_out))
        if not paths:
            raise EdgeError(f"{opts.source}: no images found (looked for .jpg .png .bmp .webp .tif ...)")
        return pipeline.run_images(clf, paths, k=opts.top_k, batch_size=opts.batch_size, workers=opts.workers,
                                   emit=collect.photo_hook(emit) if collect else emit, on_error=on_error,
                                   summary=summary)
    sink = frame_sink(opts, kind)
    frames, close = live_frames(opts, kind, summary.source, sensor, capture_request(opts, clf.manifest))
    frames = between_frames(clf, frames)  # --update-from: a new model lands between two frames
    try:
        return pipeline.run_frames(clf, frames, k=opts.top_k, emit=emit, summary=summary,
                                   on_frame=collect.frame_hook(sink) if collect else sink)
    finally:
        close()
        if sink is not None:
            sink.close()
