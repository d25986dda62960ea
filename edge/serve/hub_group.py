"""Several live sources behind the one hub the server knows: a LiveHub per source (its frames, JPEG, fps,
status, metrics label), and the group that routes each frame to its source's hub by name.

The routes see the group where they saw the hub: the event stream carries every source's predictions
(each names its source) and a 'stats' event with each source's status; /healthz sums them and says
which is lost; `/stream.mjpg?source=NAME` is one source's tile (without ?source=, the first source).
"""

from __future__ import annotations

import json

from edge.serve.errors import HttpError
from edge.serve.live import LiveHub

STATE_ORDER = ("failed", "lost", "running", "starting")  # the group's state: the first of these any source is in


class SourceMetrics:
    """A source's view of the metrics: its frames under its own `source` label (edge_predictions{source=NAME})."""

    def __init__(self, metrics, name: str):
        self.metrics, self.name = metrics, name

    def observe_frame(self, inference_ms: float, unknown: bool, dropped: int) -> None:
        self.metrics.observe_frame(inference_ms, unknown, dropped, source=self.name)


class HubGroup:
    def __init__(self, names, metrics=None, stream_fps: float = 15.0):
        self.hubs = {name: LiveHub(SourceMetrics(metrics, name) if metrics else None, stream_fps, has_source=True)
                     for name in names}
        self.first = next(iter(self.hubs.values()))
        self.has_source, self.stream_period, self.closed = True, self.first.stream_period, False
        self.source_health = None  # each source's own is on its hub (edge.runtime.reopen via its frames)
        self.viewers, self._subscribers = 0, 0

    # -- the source threads' side ----------------------------------------------------------------
    def hook(self, user_sink=None):
        """on_frame for one source thread: the frame goes to its source's hub (Frame.source is the name);
        `summary` is that source's own, whose SourceHealth (a camera's losses) its hub reports."""
        hooks = {name: hub.hook(user_sink) for name, hub in self.hubs.items()}

        def on_frame(frame, prediction, summary) -> None:
            self.hubs[frame.source].source_health = summary.source
            hooks[frame.source](frame, prediction, summary)

        return on_frame

    def finish(self, state: str, summary: dict | None = None) -> None:
        each = (summary or {}).get("sources", {})
        for name, hub in self.hubs.items():
            hub.finish(state, each.get(name))

    # -- the server's side -----------------------------------------------------------------------
    @property
    def subscribers(self) -> int:
        return self._subscribers

    @subscribers.setter
    def subscribers(self, count: int) -> None:  # a source's hub keeps event lines only while someone listens
        self._subscribers = count
        for hub in self.hubs.values():
            hub.subscribers = count

    @property
    def event_seq(self) -> tuple[int, ...]:
        return tuple(hub.event_seq for hub in self.hubs.values())

    def events_after(self, seq: tuple[int, ...]) -> list[tuple[tuple[int, ...], str]]:
        """Every source's newer lines; each carries the group's new position (streams keep the last one's)."""
        lines, now = [], []
        for hub, after in zip(self.hubs.values(), seq):
            items = hub.events_after(after)
            lines.extend(line for _, line in items)
            now.append(items[-1][0] if items else after)
        return [(tuple(now), line) for line in lines]

    def latest_line(self) -> str | None:
        """The newest prediction of the first source; the others' come with 'stats' (each source's latest)."""
        return self.first.latest_line()

    @property
    def jpeg(self) -> tuple[int, bytes]:
        return self.first.jpeg

    def status(self) -> dict:
        each = {name: hub.status() for name, hub in self.hubs.items()}
        for name, hub in self.hubs.items():
            line = hub.latest_line()
            each[name]["latest"] = None if line is None else json.loads(line)  # a tile's label before its next frame
        states = {s["source"] for s in each.values()}
        ages = [s["last_frame_age_s"] for s in each.values() if s["last_frame_age_s"] is not None]
        return {"source": next((s for s in STATE_ORDER if s in states), "done"),
                "frames": sum(s["frames"] for s in each.values()),
                "dropped_frames": sum(s["dropped_frames"] for s in each.values()),
                "fps": round(sum(s["fps"] for s in each.values()), 1),  # frames a second, all sources together
                "last_frame_age_s": min(ages) if ages else None, "summary": None,
                "viewers": self.viewers + sum(s["viewers"] for s in each.values()),
                "subscribers": self.subscribers, "sources": each}

    def watch(self) -> None:
        self.first.watch()

    def close(self) -> None:
        self.closed = True
        for hub in self.hubs.values():
            hub.close()


def stream_hub(hub, name: str | None):
    """The hub `/stream.mjpg?source=NAME` shows: that source's (several sources), else the one hub."""
    if not isinstance(hub, HubGroup):
        return hub
    if name is None:
        return hub.first
    if name not in hub.hubs:
        raise HttpError(404, f"no source named {name!r}; this server runs {', '.join(hub.hubs)}")
    return hub.hubs[name]


def source_names(hub) -> list[str]:
    """The names of several sources, for /v1/info (the page makes a tile each); [] for one source."""
    return list(hub.hubs) if isinstance(hub, HubGroup) else []
