"""`edge-infer ... --collect DIR`: keep the frames and photos the model is unsure of, for the next training.

The inference thread only decides (cheap: a comparison, a clock, a non-blocking queue put); one
writer thread hashes, de-duplicates, encodes and writes, so inference never waits for the disk. A
full queue drops the candidate (counted) instead of blocking.

Saved as DIR/<predicted label or unknown>/<UTC time>.jpg with a .json sidecar beside it, each
written to a temp file and linked into place (a name that exists is never replaced).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edge.atomic import link_new
from edge.errors import EdgeError
from edge.hashing import file_sha256
from edge.runtime.classifier import Prediction

DEDUP_BITS = 6  # pHash Hamming distance (of 64) at or below which a frame repeats a recent save
RECENT = 64  # saved frames remembered for de-duplication
QUEUE = 4  # candidates waiting for the writer; more are dropped, never waited for
PROBE_GAP_S = 0.2  # at most 5 candidates a second reach the writer (each costs a hash)


def default_below(manifest) -> float:
    """--collect-below when not given. The runtime's probabilities are temperature-calibrated (fit on
    the run's out-of-fold predictions), so a top-1 of p is right about p of the time; below the
    run's estimated accuracy an answer is more likely wrong than the model's average answer."""
    estimate = (manifest.metrics or {}).get("estimated_accuracy")
    return float(min(0.95, max(0.5, estimate))) if estimate else 0.5


@dataclass(frozen=True, kw_only=True)
class CollectConfig:
    folder: Path
    below: float  # collect when the top-1 probability is below this (or the answer is unknown)
    rate: float  # saves per minute at most: one per 60 / rate seconds
    max_mb: float  # stop saving once DIR holds this much
    artifact: Path  # named, and hashed, in every sidecar

    def check(self) -> CollectConfig:
        if not 0.0 < self.below <= 1.0:
            raise EdgeError(f"--collect-below {self.below}: pass a probability in (0, 1]")
        if self.rate <= 0 or self.max_mb <= 0:
            raise EdgeError("--collect-rate and --collect-max-mb must be above 0")
        if self.folder.exists() and not self.folder.is_dir():
            raise EdgeError(f"{self.folder}: --collect needs a folder, this is a file")
        return self


@dataclass
class CollectStats:
    saved: int = 0
    duplicates: int = 0  # near-duplicates of a recent save, not written
    busy: int = 0  # the writer was behind: dropped without waiting
    over_budget: int = 0  # DIR reached --collect-max-mb
    failed: int = 0
    files: list[str] = field(default_factory=list)

    def line(self, folder: Path) -> str:
        return (f"collect: saved {self.saved} to {folder} ({self.duplicates} near-duplicates, {self.busy} while "
                f"busy, {self.over_budget} over the size budget skipped)")


def phash(bgr: np.ndarray) -> int:
    """64-bit perceptual hash: DCT of the 32x32 grey image, signs of its 8x8 low frequencies against
    their median (the pHash of imagehash, computed with OpenCV so the runtime needs nothing more)."""
    import cv2

    grey = bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].flatten()
    bits = low > np.median(low)
    return int("".join("1" if b else "0" for b in bits), 2)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


@dataclass
class _Item:
    prediction: Prediction
    bgr: np.ndarray | None  # a frame; None: read the photo from prediction.source
    reason: str
    wall: float  # time.time() when offered


class Collector:
    """`offer(prediction, bgr)` on the inference thread; `close()` drains the writer and returns the stats.
    edge-infer hangs it on its hooks: `photo_hook(emit)` for photos, `frame_hook(sink)` for video and camera frames."""

    def __init__(self, cfg: CollectConfig, *, video_fps: float | None = None, clock=time.monotonic):
        self.cfg, self.clock, self.stats = cfg.check(), clock, CollectStats()
        self.video_fps = video_fps  # a video file's rate counts in video time (reproducible); a camera's in wall time
        self._queue: queue.Queue = queue.Queue(QUEUE)
        self._next_save = -float("inf")  # clock time from which the rate allows the next save
        self._next_probe = -float("inf")
        self._recent: deque[int] = deque(maxlen=RECENT)
        self._sha256: str | None = None
        self._bytes = 0
        self._thread = threading.Thread(target=self._write_loop, name="edge-collect", daemon=True)
        self._thread.start()

    def wanted(self, p: Prediction) -> str:
        """Why this answer is worth keeping ('' when it is not)."""
        if p.unknown:
            return "unknown"
        return f"top-1 {p.top[0][1]:.3f} below {self.cfg.below:.3f}" if p.top[0][1] < self.cfg.below else ""

    def offer(self, p: Prediction, bgr: np.ndarray | None = None, now: float | None = None) -> bool:
        """Queue a candidate if the model is unsure and the rate allows it; never blocks."""
        reason = self.wanted(p)
        now = self.clock() if now is None else now
        if not reason or now < self._next_save or now < self._next_probe:
            return False
        self._next_probe = now + PROBE_GAP_S
        try:
            self._queue.put_nowait((_Item(p, None if bgr is None else bgr.copy(), reason, time.time()), now))
        except queue.Full:
            self.stats.busy += 1
            return False
        return True

    def close(self) -> CollectStats:
        self._queue.put((None, None))
        self._thread.join()
        return self.stats

    def photo_hook(self, emit):
        def collect_emit(p: Prediction) -> None:
            emit(p)
            self.offer(p)

        return collect_emit

    def frame_hook(self, sink):
        def collect_frame(frame, p: Prediction, summary) -> None:
            if sink is not None:
                sink(frame, p, summary)
            self.offer(p, frame.bgr, frame.index / self.video_fps if self.video_fps else None)

        return collect_frame

    def finish(self) -> str:
        return self.close().line(self.cfg.folder)

    def _write_loop(self) -> None:
        self._sha256 = file_sha256(self.cfg.artifact) if self.cfg.artifact.is_file() else None
        self._bytes = _folder_bytes(self.cfg.folder)
        while True:
            item, offered_at = self._queue.get()
            if item is None:
                return
            try:
                self._consider(item, offered_at)
            except (OSError, EdgeError, ValueError):
                self.stats.failed += 1

    def _consider(self, item: _Item, offered_at: float) -> None:
        bgr = item.bgr if item.bgr is not None else _read_photo(item.prediction.source)
        if offered_at < self._next_save:  # an earlier candidate in the queue was saved meanwhile
            return
        h = phash(bgr)
        if any(bin(h ^ r).count("1") <= DEDUP_BITS for r in self._recent):
            self.stats.duplicates += 1
            return
        jpeg = _encode(bgr)
        if self._bytes + len(jpeg) > self.cfg.max_mb * 1e6:
            self.stats.over_budget += 1
            return
        self._save(item, jpeg, h)
        self._recent.append(h)
        self._next_save = offered_at + 60.0 / self.cfg.rate

    def _save(self, item: _Item, jpeg: bytes, h: int) -> None:
        p = item.prediction
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(item.wall)) + f"-{int(item.wall * 1e6) % 1000000:06d}"
        image = link_new(jpeg, self.cfg.folder / _folder_name(p.label) / f"{stamp}.jpg")
        sidecar = {**p.to_dict(), "reason": item.reason, "saved_utc": stamp, "image": image.name, "phash": f"{h:016x}",
                   "artifact": str(self.cfg.artifact), "artifact_sha256": self._sha256,
                   "collect": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.cfg).items()}}
        text = (json.dumps(sidecar, indent=1) + "\n").encode()
        link_new(text, image.with_suffix(".json"))
        self._bytes += len(jpeg) + len(text)
        self.stats.saved += 1
        self.stats.files.append(str(image))


def _folder_name(label: str) -> str:
    """A label as a folder name: path separators and leading dots cannot escape DIR."""
    safe = label.replace("/", "_").replace("\\", "_").lstrip(".")
    return safe or "unlabelled"


def _encode(bgr: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise EdgeError("cannot encode the frame as JPEG")
    return buf.tobytes()


def _read_photo(path: str) -> np.ndarray:
    from edge.runtime.images import load_rgb

    return np.ascontiguousarray(np.asarray(load_rgb(path))[:, :, ::-1])  # RGB -> BGR, as frames are


def start_collecting(opts, clf, kind: str) -> Collector | None:
    """edge-infer's collector for `opts` (an InferOptions), or None without --collect."""
    if opts.collect is None:
        return None
    if kind == "stdin":
        raise EdgeError("--collect saves photos, video frames and camera frames; stdin is none of them: drop --collect")
    below = opts.collect_below if opts.collect_below is not None else default_below(clf.manifest)
    cfg = CollectConfig(folder=Path(opts.collect), below=below, rate=opts.collect_rate, max_mb=opts.collect_max_mb,
                        artifact=Path(clf.path))
    fps = None
    if kind == "video":
        from edge.runtime.sources import video_fps

        fps = video_fps(opts.source)
    return Collector(cfg, video_fps=fps)
