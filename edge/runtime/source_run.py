"""Run one SOURCE of `edge-infer` through the pipeline that fits it: stdin, files, a video or a camera."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from edge.errors import EdgeError
from edge.runtime import pipeline, sources
from edge.runtime.classifier import Classifier, Prediction
from edge.runtime.options import InferOptions
from edge.runtime.timing import Summary

Emit = Callable[[Prediction], None]


def frame_sink(opts: InferOptions, kind: str):
    """The --show window / --save video writer, or None."""
    if not (opts.show or opts.save):
        return None
    from edge.runtime.annotate import FrameSink

    fps = sources.video_fps(opts.source) if kind == "video" else None
    return FrameSink(opts.show, opts.save, fps / max(opts.stride, 1) if fps else None)


def live_frames(opts: InferOptions, kind: str) -> tuple[Iterator[sources.Frame], Callable[[], None]]:
    """(frames, close) for a video file, the Pi camera or an OpenCV camera / stream URL."""
    if kind == "video":
        frames = sources.video_frames(opts.source, opts.stride)
        if opts.max_frames:
            frames = (f for _, f in zip(range(opts.max_frames), frames))
        return frames, lambda: None
    if kind == "picamera":
        return sources.picamera_frames(opts.max_frames), lambda: None
    camera = sources.LatestFrameCamera(opts.source)
    return camera.frames(opts.max_frames), camera.close


def run_source(clf: Classifier, opts: InferOptions, kind: str, summary: Summary, emit: Emit,
               on_error: pipeline.Failed, collect=None) -> Summary:
    """`collect`: an edge.runtime.collect.Collecting (--collect) that sees every answer; None without it."""
    if kind == "stdin":
        return pipeline.run_bytes(clf, sources.read_stdin(), opts.top_k, emit, summary)
    if kind == "images":
        paths = sources.list_images(opts.source)
        if not paths:
            raise EdgeError(f"{opts.source}: no images found (looked for .jpg .png .bmp .webp .tif ...)")
        return pipeline.run_images(clf, paths, k=opts.top_k, batch_size=opts.batch_size, workers=opts.workers,
                                   emit=collect.photo_hook(emit) if collect else emit, on_error=on_error,
                                   summary=summary)
    sink = frame_sink(opts, kind)
    frames, close = live_frames(opts, kind)
    try:
        return pipeline.run_frames(clf, frames, k=opts.top_k, emit=emit, summary=summary,
                                   on_frame=collect.frame_hook(sink) if collect else sink)
    finally:
        close()
        if sink is not None:
            sink.close()
