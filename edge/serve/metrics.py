"""Prometheus metrics (prometheus_client), one registry per app, and the ASGI middleware that counts
requests. Route labels come from a fixed list, so hostile paths cannot grow the label set."""

from __future__ import annotations

import time

ROUTES = ("/", "/stream.mjpg", "/v1/events", "/v1/classify", "/v1/info", "/v1/model", "/healthz", "/metrics")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = r = CollectorRegistry()
        self.requests = Counter("edge_http_requests", "HTTP requests by route and status", ["route", "status"], registry=r)
        self.request_seconds = Histogram("edge_http_request_seconds", "HTTP request duration (streams: until the "
                                         "headers)", ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.inference_seconds = Histogram("edge_inference_seconds", "Model time per image", ["source"],
                                           buckets=LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("edge_batch_size", "Images per inference call of the request worker",
                                    buckets=(1, 2, 4, 8, 16, 32), registry=r)
        self.predictions = Counter("edge_predictions", "Predictions by source (live or api; with several live sources, "
                                   "each one's name)", ["source"], registry=r)
        self.unknown = Counter("edge_unknown_answers", "Answers of 'unknown' by source", ["source"], registry=r)
        self.frames = Counter("edge_frames", "Live frames classified", registry=r)
        self.dropped = Counter("edge_dropped_frames", "Live frames the camera delivered that the model never saw",
                               registry=r)
        self.rejected = Counter("edge_rejected_requests", "Classify requests refused with 503 (queue full)", registry=r)
        self.queue_depth = Gauge("edge_queue_depth", "Classify requests admitted and not yet answered", registry=r)
        self.viewers = Gauge("edge_stream_clients", "Open live connections", ["kind"], registry=r)
        self.webhook = Counter("edge_webhook_events", "--on-change label changes by outcome: delivered, failed "
                               "(after retries, or mid-retry at exit), dropped (queue full, or queued at exit)",
                               ["outcome"], registry=r)
        self.actions_dropped = Counter("edge_action_dropped", "Label changes an action's full queue dropped "
                                       "(edge.actions: mqtt, webhook)", ["action"], registry=r)
        self.webhook_pending = Gauge("edge_webhook_pending", "--on-change events queued or being posted", registry=r)

    def observe_batch(self, size: int, seconds_per_image: float, unknown: list[bool]) -> None:
        self.batch_size.observe(size)
        for _ in range(size):
            self.inference_seconds.labels("api").observe(seconds_per_image)
        self.predictions.labels("api").inc(size)
        self.unknown.labels("api").inc(sum(unknown))

    def observe_frame(self, inference_ms: float, unknown: bool, dropped: int, source: str = "live") -> None:
        """`source`: "live", or with several sources the source's name (edge.serve.hub_group)."""
        self.frames.inc()
        self.predictions.labels(source).inc()
        self.inference_seconds.labels(source).observe(inference_ms / 1000)
        if unknown:
            self.unknown.labels(source).inc()
        if dropped > 0:
            self.dropped.inc(dropped)

    def text(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI: counts every HTTP response by route and status, including auth and 404 answers."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        route = scope["path"] if scope["path"] in ROUTES else "other"
        start = time.perf_counter()

        async def counting_send(message):
            if message["type"] == "http.response.start":
                self.metrics.request_seconds.labels(route).observe(time.perf_counter() - start)
                self.metrics.requests.labels(route, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting_send)
