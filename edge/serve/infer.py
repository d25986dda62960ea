"""`edge-infer MODEL [SOURCE] --serve ... / --on-change URL / --mqtt ...`: what runs the live loop behind the
page and API or the label events (run_infer's `serve`)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from edge.actions.start import start_events
from edge.errors import EdgeError
from edge.runtime.named_sources import SEVERAL, check_several
from edge.serve.options import make_options
from edge.serve.run import check_live, serve, watch


def run_served(clf, opts, kind: str | None, summary, loop, report) -> None:
    """Serve and watch: `loop` is the run's live loop (edge.runtime.source_run.run_live, `loop(hook, gate)`;
    None without a live SOURCE), its frames through the event core's pause switch, its answers to the hub."""
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
    if events is not None:
        loop = partial(loop, gate=events.gate)  # the classify switch (MQTT <source>/classify/set) pauses here
    try:
        if opts.serve is None:
            watch(clf, options, loop, report=report, events=events)
        else:
            serve(clf, options, loop, report=report, events=events, health=summary.source)
    finally:
        if events is not None:
            events.close()  # idempotent: also where Service or watch failed before they could
