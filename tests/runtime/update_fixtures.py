"""Published export folders for the update tests: versions of the tiny export with another hash, other
labels or other weights, a static HTTP server on 127.0.0.1 (ETag and Last-Modified, as a bucket answers),
and synthetic live frames."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import threading
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np

from edge.export_dir import LABELS_FILE, MANIFEST_FILE, REPORT_FILE
from edge.formats import FORMATS
from edge.manifest import MANIFEST_KEY
from edge.runtime.updates.files import file_table


def publish(src: Path, dest: Path, *, sha: str, labels: list[str] | None = None, bias: float = 0.0,
            formats: tuple[str, ...] = ("onnx",)) -> Path:
    """A copy of export `src` at `dest` as another version: `sha` its source_sha256 (the version), `labels`
    renamed, `bias` added to the first class's logit (another model). The report's file table is rewritten."""
    import onnx

    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    manifest = json.loads((src / MANIFEST_FILE).read_text())
    manifest.update(source_sha256=sha, labels=labels or manifest["labels"])
    (dest / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    (dest / LABELS_FILE).write_text("\n".join(manifest["labels"]) + "\n")
    for name in formats:
        model = onnx.load(str(src / FORMATS[name].path))
        for prop in model.metadata_props:
            if prop.key == MANIFEST_KEY:
                embedded = json.loads(prop.value)
                embedded.update(source_sha256=sha, labels=manifest["labels"])
                prop.value = json.dumps(embedded)
        if bias:
            _shift_first_logit(model, len(manifest["labels"]), bias)
        onnx.save(model, str(dest / FORMATS[name].path))
    report = json.loads((src / REPORT_FILE).read_text())
    report["formats"] = [row for row in report["formats"] if row["name"] in formats]
    report["files"] = file_table(dest)
    (dest / REPORT_FILE).write_text(json.dumps(report, indent=2))
    bump(dest / REPORT_FILE)
    return dest


def _shift_first_logit(model, classes: int, bias: float) -> None:
    from onnx import numpy_helper

    for init in reversed(model.graph.initializer):
        if list(init.dims) == [classes] and init.data_type == 1:  # the classifier's fp32 bias
            array = numpy_helper.to_array(init).copy()
            array[0] += bias
            init.CopyFrom(numpy_helper.from_array(array, init.name))
            return
    raise AssertionError("no classifier bias found")


def bump(path: Path, seconds: float = 0.0) -> None:
    """Move a file's mtime on (Last-Modified has whole seconds: a republish within the second looks unchanged)."""
    stamp = max(time.time(), path.stat().st_mtime) + 2 + seconds
    os.utime(path, (stamp, stamp))


class Handler(http.server.SimpleHTTPRequestHandler):
    """A static file server that also sends an ETag and answers If-None-Match with 304; it logs each request."""

    log: list[tuple[str, int]]

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_file():
            etag = '"' + hashlib.sha256(path.read_bytes()).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return None
            self._etag = etag
        return super().send_head()

    def end_headers(self):
        etag = getattr(self, "_etag", None)
        if etag:
            self.send_header("ETag", etag)
            self._etag = None
        super().end_headers()

    def log_request(self, code="-", size="-"):
        self.log.append((self.path, int(code) if str(code).isdigit() else 0))

    def log_message(self, *args):
        pass


@contextmanager
def static_server(root: Path):
    """http.server on 127.0.0.1 (a free port) serving `root`, in a thread; yields (base URL, request log)."""
    log: list[tuple[str, int]] = []
    handler = type("LoggingHandler", (Handler,), {"log": log})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def frames(n: int, fps: float = 60.0, size=(120, 160), seed: int = 0):
    """A fake camera: `n` frames of new pixels at about `fps`."""
    from edge.runtime.sources import Frame

    rng = np.random.default_rng(seed)
    for i in range(n):
        yield Frame("camera:fake", i, rng.integers(0, 255, (*size, 3), dtype=np.uint8), 0.1)
        time.sleep(1.0 / fps)
