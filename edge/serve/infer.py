"""`edge-infer MODEL [SOURCE] --serve ... / --on-change URL`: the source runner the command line hands run_infer."""

from __future__ import annotations

import time
from dataclasses import replace

from edge.actions.start import start_events
from edge.errors import EdgeError
from edge.runtime.multi_source import several_loop
from edge.runtime.named_sources import SEVERAL, check_several
from edge.runtime.updates.start import between_frames
from edge.serve.options import make_options
from edge.serve.run import check_live, serve, watch


def live_loop(clf, opts, kind: str, summary, emit, collect=None, events=None):
    """The source loop edge-infer runs today (frames, --save/--show sink, --collect), taking the
    server's hook factory: `loop(hook)` runs it with `hook(sink)` as the on_frame callback."""
    from edge.runtime import pipeline
    from edge.runtime.capture_size import capture_request
    from edge.runtime.imx500_camera import sensor_network
    from edge.runtime.source_run import frame_sink, live_frames

    sensor = sensor_network(clf, kind)  # an AI Camera runs the imx500 artifact on its sensor (picam only)

    def loop(hook):
        sink = frame_sink(opts, kind)
        frames, close = live_frames(opts, kind, summary.source, sensor, capture_request(opts, clf.manifest))
        if events is not None:
            frames = events.gate(frames)  # the classify switch (MQTT <source>/classify/set) pauses here
        frames = between_frames(clf, frames)  # --update-from: a new model lands between two frames
        summary.started = time.perf_counter()  # img/s over the frames' time: not the server's start, not idle serving
        try:
            return pipeline.run_frames(clf, frames, k=opts.top_k, emit=emit, summary=summary,
                                       on_frame=hook(collect.frame_hook(sink) if collect else sink))
        finally:
            summary.stop()
            close()
            if sink is not None:
                sink.close()

    return loop


def run_served(clf, opts, kind: str | None, summary, emit, on_error=None, collect=None, report=None) -> None:
    """What run_infer calls instead of run_source for --serve / --on-change / --mqtt (same arguments)."""
    from edge.runtime.infer import report_stderr

    report = report or report_stderr
    options = make_options(serve=opts.serve, token=opts.token, no_auth=opts.no_auth, max_body_mb=opts.max_body_mb,
                           on_change=opts.on_change, hold=opts.hold, min_confidence=opts.min_confidence,
                           top_k=opts.top_k)
    if kind == SEVERAL:  # several sources: a hub, a page tile and a metrics label each (edge.serve.hub_group)
        options = replace(options, sources=tuple(s.name for s in check_several(opts)))
    else:
        check_live(kind, opts.source)
    if kind is None and (opts.serve is None or opts.mqtt is not None or opts.gpio or opts.record is not None):
        raise EdgeError("--gpio, --record, --on-change and --mqtt watch a live SOURCE (camera, picam, video); give one")
    events = None if kind is None else start_events(opts, clf, report)  # the trackers, and --mqtt
    loop = None if kind is None else live_loop(clf, opts, kind, summary, emit, collect, events)
    if kind == SEVERAL:  # one model, a thread per source (edge.runtime.multi_source)
        loop = several_loop(clf, opts, summary, emit, collect, events.gate, report)
    try:
        if opts.serve is None:
            watch(clf, options, loop, report=report, events=events)
        else:
            serve(clf, options, loop, report=report, events=events, health=summary.source)
    finally:
        if events is not None:
            events.close()  # idempotent: also where Service or watch failed before they could
