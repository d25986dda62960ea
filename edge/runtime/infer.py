"""`edge-infer` as a library call: load the model once, run the source, print, summarise.

`run_infer(options, artifact=..., threads=...)` is what the command line calls once it has chosen
the artifact (an export folder's tuned choice lives in edge.devices, one layer up). Everything the
command did beyond parsing lives here, so tests call it without the CLI.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from edge.errors import EdgeError
from edge.ownership import check_new_file
from edge.runtime.classifier import Classifier, Prediction
from edge.runtime.named_sources import SEVERAL, check_several
from edge.runtime.options import InferOptions
from edge.runtime.report import report_stderr
from edge.runtime.sources import LIVE_KINDS, classify_spec
from edge.runtime.timing import Summary

Report = Callable[[str], None]
Serve = Callable[..., None]  # serve(clf, opts, kind, summary, loop, report): edge.serve.infer.run_served


def printer(as_json: bool, version: Callable[[], str] | None = None) -> Callable[[Prediction], None]:
    """One line per prediction: a readable one, or the --json object (the same schema --serve sends);
    `version`: the model version each --json line carries (edge.runtime.updates.files.model_version)."""
    def emit(p: Prediction) -> None:
        if as_json:
            sys.stdout.write(json.dumps({**p.to_dict(), **({"model_version": version()} if version else {})}) + "\n")
            return
        best = ", ".join(f"{label} {prob:.1%}" for label, prob in p.top)
        frame = f"#{p.frame}" if p.frame is not None else ""
        if p.unknown:
            best = f"unknown (score {p.score:.3f}; nearest {best})"
        print(f"{p.source}{frame}  {best}", flush=True)

    return emit


def failure_printer(as_json: bool, report: Report, version: Callable[[], str] | None = None) -> Callable[[str, str], None]:
    """A file that could not be classified: on stderr, and with --json also a line with an `error` field."""
    def failed(source: str, error: str) -> None:
        report(f"failed: {error}")
        if as_json:
            sys.stdout.write(json.dumps({"source": source, "label": None, "error": error,
                                         **({"model_version": version()} if version else {})}) + "\n")

    return failed


def check_outputs(opts: InferOptions, kind: str) -> None:
    """--show and --save act on video and camera frames; say so before any work instead of ignoring them."""
    if (opts.show or opts.save) and kind not in LIVE_KINDS:
        flag = "--show" if opts.show else "--save"
        raise EdgeError(f"{flag} annotates video and camera frames; {opts.source} is {kind}: drop {flag}, "
                        "or use --json for the predictions")
    if opts.show and sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise EdgeError("--show needs a display (DISPLAY is not set, e.g. over ssh); use --save FILE.mp4, "
                        "or watch from a browser with --serve")
    if (opts.loop or opts.realtime) and kind not in ("video", SEVERAL):  # several: each a video (check_several)
        flag = "--loop" if opts.loop else "--realtime"
        raise EdgeError(f"{flag} plays a video file; {opts.source} is {kind or 'not given'}: drop {flag}")
    for path, flag in ((opts.save, "--save"), (opts.summary_json, "--summary-json")):
        if path is not None:
            check_new_file(path, flag)


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM (systemd, docker stop, kill) ends the run like Ctrl-C: the video is closed playable.
    The handlers found on entry (SIGINT too: uvicorn sets its own) are put back on exit, error or not,
    so a program that calls run_infer keeps its own."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if handler is not None:  # None: set outside Python, cannot be put back from here
                signal.signal(sig, handler)


def load_classifier(opts: InferOptions, artifact: Path, threads: int | None, kind: str) -> Classifier:
    # Folders decode on worker threads: ONNX Runtime threads that busy-wait would take their cores
    # (measured on flowers5, ONNX INT8: 262-266 img/s without spinning, 238-243 with it).
    # --serve decodes requests on threads too (and runs an event loop), and --record encodes every frame on a
    # thread of its own: no spinning there either (all actions on, 640x480 video: 0.71 of the fps of none with
    # spinning, 0.81 without; benchmarks/actions). --mqtt, --on-change, --gpio act on changes only: spin.
    spin = kind not in ("images", SEVERAL) and opts.serve is None and opts.record is None
    return Classifier(artifact, backend=opts.backend, threads=threads, manifest=opts.manifest,
                      spin_wait=spin, unknown=opts.unknown, keep=opts.keep)


def describe_model(clf: Classifier) -> str:
    answers_unknown = f", unknown below {clf.threshold:.3f}" if clf.threshold is not None else ""
    threads = clf.backend.threads
    return (f"model: {clf.path} ({clf.backend.name}, {clf.manifest.precision}, {threads} thread"
            f"{'' if threads == 1 else 's'}{answers_unknown})")


def live_loop(clf: Classifier, opts: InferOptions, kind: str | None, summary: Summary, emit, collect, report: Report):
    """The live loop of this run's SOURCE (edge.runtime.source_run.run_live; each of several sources on a thread
    of its own), `loop(hook, gate)` to run it; None for photos, stdin or no SOURCE."""
    from edge.runtime.multi_source import several_loop
    from edge.runtime.source_run import source_loop

    if kind == SEVERAL:
        return several_loop(clf, opts, summary, emit, collect, report)
    return source_loop(clf, opts, kind, summary, emit, collect, report) if kind in LIVE_KINDS else None


def run_source(clf: Classifier, opts: InferOptions, kind: str | None, summary: Summary, emit, collect, report: Report,
               serve: Serve | None, version) -> None:
    """The live loop behind `serve` (a server, the label events), the live loop alone, or the photos / stdin."""
    from edge.runtime.source_run import run_files

    loop = live_loop(clf, opts, kind, summary, emit, collect, report)
    if serve is not None:
        serve(clf, opts, kind, summary, loop, report)
    elif loop is not None:
        loop()
    else:
        run_files(clf, opts, kind, summary, emit, failure_printer(opts.json_lines, report, version), collect, report)


def run_infer(opts: InferOptions, *, artifact: Path, threads: int | None, report: Report = report_stderr,
              serve: Serve | None = None) -> Summary:
    """Classify the source; raise EdgeError when nothing could be classified or a file failed. `serve`: what runs
    the live loop (None when there is none) behind a server or the label events, called as `serve(clf, opts, kind,
    summary, loop, report)` (edge-infer --serve, --on-change, --mqtt pass edge.serve.infer.run_served)."""
    kind = classify_spec(opts.source) if opts.source is not None else None  # None: --serve, the API alone
    if opts.several:  # several SOURCEs, one model: edge.runtime.multi_source
        check_several(opts)
        kind = SEVERAL
    check_outputs(opts, kind)
    clf = load_classifier(opts, artifact, threads, kind)
    report(describe_model(clf))
    from edge.runtime.updates.files import model_version
    from edge.runtime.updates.start import start_updates, stop_updates

    clf = start_updates(opts, clf, kind, report)  # --update-from: a classifier swapped between two frames
    version = lambda: model_version(clf)  # noqa: E731 - what runs now, on every --json line
    from edge.runtime.reopen import live_health
    from edge.runtime.sdnotify import watch_predictions

    summary = Summary(source=live_health(kind, opts.source))  # a camera/stream/picam's losses and gaps
    emit = watch_predictions(printer(opts.json_lines, version), clf, summary.source)  # systemd: READY, watchdog, STATUS
    from edge.runtime.collect import start_collecting

    with stop_on_sigterm():
        collect = start_collecting(opts, clf, kind)  # --collect DIR: a writer thread; None without it
        try:
            run_source(clf, opts, kind, summary, emit, collect, report, serve, version)
        except KeyboardInterrupt:
            report("interrupted")
        finally:
            stop_updates(clf)
        report(summary.line())
        if collect is not None:
            report(collect.finish())
        if opts.summary_json is not None:
            from edge.atomic import write_json

            write_json(opts.summary_json, summary.to_dict())
    check_outcome(opts, summary)
    return summary


def check_outcome(opts: InferOptions, summary: Summary) -> None:
    """Exit non-zero when nothing was classified, or when any file failed (unless --allow-failures)."""
    if summary.classified == 0 and opts.source is not None:
        raise EdgeError(f"{opts.source}: nothing could be classified")
    for name, part in summary.parts.items():  # several sources: each one must have classified
        if part.classified == 0:
            raise EdgeError(f"source {name}: nothing could be classified")
    if summary.failed and not opts.allow_failures:
        many = summary.failed != 1
        raise EdgeError(f"{opts.source}: {summary.failed} file{'s' if many else ''} could not be classified "
                        f"(listed above); fix or remove {'them' if many else 'it'}, or pass --allow-failures")
