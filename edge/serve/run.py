"""`edge-infer MODEL [SOURCE] --serve`: the live source on its own thread, uvicorn in front of it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from edge.actions.dispatch import Forward
from edge.actions.events import Events
from edge.errors import EdgeError
from edge.runtime.classifier import Classifier
from edge.runtime.options import require_installed
from edge.runtime.source_run import LiveLoop
from edge.runtime.sources import LIVE_KINDS
from edge.serve.hub_group import HubGroup
from edge.serve.live import LiveHub, SourceStopped
from edge.serve.options import ServeOptions


def require_extra() -> None:
    require_installed("serve")


def check_live(kind: str | None, source: str | None) -> None:
    if kind is not None and kind not in LIVE_KINDS:
        raise EdgeError(f"{source}: --serve, --on-change and --mqtt watch a camera, 'picam', a video or a stream URL; "
                        "for photos, serve the model alone (no SOURCE) and POST them to /v1/classify")


class SourceThread:
    """Runs the source loop; a failure stops the server and is raised again from the main thread."""

    def __init__(self, loop: LiveLoop, hub: LiveHub, report, stop_server: Callable[[], None]):
        self.loop, self.hub, self.report, self.stop_server = loop, hub, report, stop_server
        self.error: EdgeError | None = None
        self.thread = threading.Thread(target=self._run, name="edge-source", daemon=True)

    def _run(self) -> None:
        try:
            summary = self.loop(self.hub.hook)
            self.hub.finish("done", summary.to_dict())
            if not self.hub.closed:
                self.report(f"source finished after {summary.classified} frames; still serving (Ctrl-C stops)")
        except SourceStopped:
            self.hub.finish("done")
        except Exception as exc:  # EdgeError from the camera, or anything else: end the server cleanly
            self.error = exc if isinstance(exc, EdgeError) else EdgeError(f"live source stopped ({type(exc).__name__}: {exc})")
            self.hub.finish("failed")
            self.stop_server()


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before uvicorn starts, so a taken port is one clear line (and port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # connections made before uvicorn's loop starts wait in the backlog
    except OSError as exc:
        sock.close()
        raise EdgeError(f"--serve {host}:{port}: cannot listen there ({exc.strerror or exc}); choose another port, "
                        "or stop the program that uses it") from None
    return sock


def start_events(options: ServeOptions, events, metrics, report):
    """The live run's event core (edge.actions.events; a new one when the caller passed none) with the
    --on-change webhook hung off it, and its dropped counts on /metrics."""
    if events is None:
        events = Events(hold=options.hold, min_confidence=options.min_confidence, report=report)
    start_webhook(options, events, metrics, report)
    if metrics is not None:
        events.on_drop = lambda action: metrics.actions_dropped.labels(action).inc()
        for action in events.dropped():  # each action at 0 from the start, so a dashboard sees it
            metrics.actions_dropped.labels(action)
    return events


def with_events(source_loop: LiveLoop, events) -> LiveLoop:
    """The source loop with `events` seeing every frame (before the user's --save/--show sink)."""
    return lambda hook: source_loop(lambda sink: hook(events.frame_hook(sink)))


def start_webhook(options: ServeOptions, events, metrics, report):
    if options.on_change is None:
        return None
    from edge.serve.webhook import WebhookSender

    sender = WebhookSender(options.on_change, metrics=metrics, report=report)
    if metrics is not None:
        metrics.webhook_pending.set_function(sender.pending)
        for outcome in sender.OUTCOMES:  # all three at 0 from the start, so a dashboard sees them
            metrics.webhook.labels(outcome)
    events.add(Forward("webhook", lambda change: sender.send(change.to_dict()), sender.close))
    return sender


def watch(clf: Classifier, options: ServeOptions, source_loop: LiveLoop, report=print, events=None) -> None:
    """--on-change / --mqtt without --serve: the source in this thread, the label events out; no HTTP."""
    events = start_events(options, events, None, report)
    try:
        source_loop(events.frame_hook)
    finally:
        events.close()


def make_server(app, hub: LiveHub, options: ServeOptions):
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            hub.close()  # ends the streams, so shutdown does not wait on open viewers
            super().handle_exit(sig, frame)

    from edge.serve.protocol import header_deadline_protocol

    config = uvicorn.Config(app, http=header_deadline_protocol(options.request_timeout_s), log_level="warning",
                            access_log=False, lifespan="off", server_header=False, timeout_keep_alive=5,
                            timeout_graceful_shutdown=2, limit_concurrency=256)
    return Server(config)


def make_parts(clf: Classifier, options: ServeOptions, has_source: bool):
    """The app's parts (model, queue worker, live hub, metrics): what tests build without a server."""
    require_extra()
    from edge.serve.metrics import Metrics
    from edge.serve.parts import Parts
    from edge.serve.worker import InferenceWorker

    metrics = Metrics()
    hub = (HubGroup(options.sources, metrics, options.stream_fps) if options.sources  # several sources: a hub each
           else LiveHub(metrics, options.stream_fps, has_source=has_source))
    worker = InferenceWorker(clf, batch=options.batch, queue_size=options.queue, decode_threads=options.threads(),
                             metrics=metrics, body_budget=4 * options.max_body_bytes)
    from edge.serve.model_info import ModelInfo

    metrics.registry.register(ModelInfo(clf))  # edge_model_info{version=...}: read at each scrape
    return Parts(clf, options, hub, worker, metrics)


class Service:
    """The server and the source thread; `run()` blocks until `stop()`, Ctrl-C or SIGTERM."""

    def __init__(self, clf: Classifier, options: ServeOptions, source_loop: LiveLoop | None = None, report=print,
                 events=None, health=None):
        from edge.serve.app import build_app

        self.parts = make_parts(clf, options, source_loop is not None)
        self.report, self.hub = report, self.parts.hub
        self.hub.source_health = health  # a camera's losses (edge.runtime.reopen.SourceHealth) for /healthz
        self.sock = bind_socket(options.host, options.port)
        self.host, self.port = self.sock.getsockname()[:2]
        self.server = make_server(build_app(self.parts), self.hub, options)
        self.events = start_events(options, events, self.parts.metrics, report) if source_loop else None
        self.source = SourceThread(with_events(source_loop, self.events), self.hub, report, self.stop) if source_loop else None

    @property
    def url(self) -> str:
        return f"http://{'[' + self.host + ']' if ':' in self.host else self.host}:{self.port}/"

    def stop(self) -> None:
        self.hub.close()
        self.server.should_exit = True

    def run(self) -> None:
        options = self.parts.options
        auth = "token required" if options.token else "no token" + (" (--no-auth)" if options.no_auth else ", loopback only")
        self.report(f"serving {self.url} ({auth}); API: /v1/classify /v1/info /v1/events /healthz /metrics")
        if self.source is not None:
            self.source.thread.start()
        from edge.serve.keepalive import start_probe

        probe = start_probe(self.host, self.port)  # systemd's watchdog while no frames flow; None without systemd
        try:
            self.server.run(sockets=[self.sock])
        finally:
            if probe is not None:
                probe.stop()
            self.hub.close()
            self.parts.worker.close()
            if self.events is not None:
                self.events.close()  # the webhook and MQTT finish, and a paused source stops waiting
            if self.source is not None:
                self.source.thread.join(timeout=6)
            self.sock.close()
        if self.source is not None and self.source.error is not None:
            raise self.source.error


def serve(clf: Classifier, options: ServeOptions, source_loop: LiveLoop | None = None, report=print,
          events=None, health=None) -> None:
    """Serve the page and the API until Ctrl-C / SIGTERM, running `source_loop` (if any) on a thread."""
    Service(clf, options, source_loop, report, events, health).run()
