"""Fixtures for the server tests: a classifier on the tiny export, an in-process app, a real server."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed: pip install 'edge-classifier[serve]'")
pytest.importorskip("uvicorn")
pytest.importorskip("prometheus_client")
pytest.importorskip("httpx")


@pytest.fixture(scope="session")
def clf(tiny_export):
    from edge.runtime import Classifier

    return Classifier(tiny_export / "model.onnx", spin_wait=False, threads=1)


@pytest.fixture
def make_client(clf):
    """make_client(**ServeOptions fields) -> a Starlette TestClient (no sockets) and its Parts."""
    from starlette.testclient import TestClient

    from edge.serve.app import build_app
    from edge.serve.options import ServeOptions
    from edge.serve.run import make_parts

    made = []

    def make(has_source: bool = False, **fields):
        parts = make_parts(clf, ServeOptions(**fields), has_source)
        client = TestClient(build_app(parts), raise_server_exceptions=False)
        made.append(parts)
        return client, parts

    yield make
    for parts in made:
        parts.hub.close()
        parts.worker.close()


@contextmanager
def running_service(clf, source_loop=None, **fields):
    """A real uvicorn server on 127.0.0.1 and a free port, in a thread; stopped on exit."""
    from edge.serve.options import ServeOptions
    from edge.serve.run import Service

    lines: list[str] = []
    service = Service(clf, ServeOptions(port=0, **fields), source_loop, report=lines.append)
    errors: list[BaseException] = []

    def run():
        try:
            service.run()
        except BaseException as exc:  # noqa: BLE001 - surfaced by the test
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not service.server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.02)
    assert service.server.started, errors or lines
    try:
        yield service
    finally:
        service.stop()
        thread.join(timeout=10)
        assert not thread.is_alive()


def synthetic_frames(n: int, fps: float = 50.0, size=(96, 128)):
    """Frames of a fake camera at `fps` (each one new pixels), as the runtime's Frame objects."""
    from edge.runtime.sources import Frame

    rng = np.random.default_rng(0)
    for i in range(n):
        yield Frame("camera:fake", i, rng.integers(0, 255, (*size, 3), dtype=np.uint8), 0.1)
        time.sleep(1.0 / fps)


def frame_loop(clf, n: int, fps: float = 50.0):
    """A source loop as the CLI builds it: pipeline.run_frames over `n` synthetic frames."""
    from edge.runtime.pipeline import run_frames
    from edge.runtime.timing import Summary

    def loop(hook):
        return run_frames(clf, synthetic_frames(n, fps), k=3, emit=lambda p: None, summary=Summary(), on_frame=hook(None))

    return loop


def write_video(path, frames: int = 10, fps: float = 20.0, size=(96, 72)):
    """An mp4 of random frames at `fps` (in a tmp dir)."""
    cv2 = pytest.importorskip("cv2")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    writer.release()
    return path


def video_loop(clf, video, summary=None, **options):
    """The loop `edge-infer MODEL VIDEO --serve` runs (edge.runtime.source_run.source_loop), paced as --serve paces files."""
    from edge.runtime.options import InferOptions
    from edge.runtime.source_run import source_loop
    from edge.runtime.timing import Summary

    opts = InferOptions(artifact=clf.path, source=str(video), serve="0", **options)
    return source_loop(clf, opts, "video", summary if summary is not None else Summary(), lambda p: None)
