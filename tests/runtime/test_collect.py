"""--collect: what is kept (unsure answers), how often (the rate), never twice (near-duplicates), never
over a file, within the size budget, with a sidecar per photo; inference never waits for the writer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from edge.atomic import link_new
from edge.runtime.classifier import Prediction
from edge.runtime.collect import DEDUP_BITS, CollectConfig, Collector, default_below, phash
from tests.conftest import FLOWERS


def _cfg(tmp_path: Path, **kw) -> CollectConfig:
    artifact = tmp_path / "model.onnx"
    artifact.write_bytes(b"not a model, but it has a hash")
    return CollectConfig(**{"folder": tmp_path / "collected", "below": 0.8, "rate": 60.0, "max_mb": 50.0,
                            "artifact": artifact, **kw})


def _unsure(i: int, prob: float = 0.4, unknown: bool = False) -> Prediction:
    return Prediction("clip.mp4", [("roses", prob), ("tulips", 1 - prob)], frame=i, unknown=unknown, score=0.3)


def _frame(seed: int) -> np.ndarray:
    """A distinct picture per seed: blocks of random colour (pHash sees the layout, not the noise)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    return np.kron(blocks, np.ones((40, 40, 1), dtype=np.uint8))


def test_only_unsure_or_unknown_answers_are_kept(tmp_path):
    c = Collector(_cfg(tmp_path))
    assert c.wanted(_unsure(0, 0.95)) == ""
    assert c.wanted(_unsure(0, 0.5)).startswith("top-1 0.500 below 0.800")
    assert c.wanted(_unsure(0, 0.99, unknown=True)) == "unknown"
    c.close()


def test_rate_limit_dedup_and_sidecars(tmp_path):
    c = Collector(_cfg(tmp_path, rate=6.0))  # one save per 10 s of clock
    for i in range(600):  # 60 s at 10 frames/s: a new picture every 5 s, repeated in between
        c.offer(_unsure(i, unknown=i % 2 == 0), _frame(i // 50), now=i / 10)
        time.sleep(0.001)  # let the writer keep up (a real source takes longer per frame)
    stats = c.close()
    files = sorted((tmp_path / "collected").rglob("*.jpg"))
    assert 1 <= stats.saved == len(files) <= 7  # 60 s at 6/min: at most one per 10 s
    hashes = []
    for f in files:
        side = json.loads(f.with_suffix(".json").read_text())
        assert side["source"] == "clip.mp4" and side["frame"] is not None and side["label"] in ("roses", "unknown")
        assert f.parent.name == side["label"] and len(side["artifact_sha256"]) == 64 and side["reason"]
        import cv2

        hashes.append(phash(cv2.imread(str(f))))
    assert all(bin(a ^ b).count("1") > DEDUP_BITS for i, a in enumerate(hashes) for b in hashes[i + 1:])


def test_a_repeated_frame_is_saved_once(tmp_path):
    c = Collector(_cfg(tmp_path, rate=6000.0))
    for i in range(20):
        c.offer(_unsure(i), _frame(7), now=float(i))
        time.sleep(0.005)
    stats = c.close()
    assert stats.saved == 1 and stats.duplicates >= 1


def test_size_budget(tmp_path):
    c = Collector(_cfg(tmp_path, rate=6000.0, max_mb=0.03))  # room for about one frame
    for i in range(10):
        c.offer(_unsure(i), _frame(i), now=float(i))
        time.sleep(0.005)
    stats = c.close()
    total = sum(p.stat().st_size for p in (tmp_path / "collected").rglob("*") if p.is_file())
    assert stats.saved >= 1 and stats.over_budget >= 1 and total <= 0.03e6


def test_never_overwrites(tmp_path):
    dest = tmp_path / "a" / "x.jpg"
    first = link_new(b"one", dest)
    second = link_new(b"two", dest)
    assert first == dest and second != dest and dest.read_bytes() == b"one" and second.read_bytes() == b"two"
    assert not [p for p in dest.parent.iterdir() if p.name.endswith(".tmp")]


def test_offer_never_blocks_on_a_slow_disk(tmp_path, monkeypatch):
    import edge.runtime.collect as collect

    monkeypatch.setattr(collect.Collector, "_consider", lambda self, item, t: time.sleep(0.2))
    c = Collector(_cfg(tmp_path, rate=6000.0))
    frame, waits = _frame(1), []
    for i in range(50):
        start = time.perf_counter()
        c.offer(_unsure(i), frame, now=float(i))
        waits.append(time.perf_counter() - start)
    assert max(waits) < 0.1  # the writer sleeps 0.2 s per frame: no offer waited for it
    assert c.stats.busy > 0
    c.close()


def test_default_below_comes_from_the_estimate():
    class M:
        metrics = {"estimated_accuracy": 0.908}

    assert default_below(M()) == pytest.approx(0.908)
    M.metrics = {}
    assert default_below(M()) == 0.5


def write_mixed_clip(path: Path, photos: list[Path], hold: int = 8) -> Path:
    """Flower photos, each held for `hold` frames, between frames of noise and flat colour."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (160, 120))
    rng = np.random.default_rng(0)
    for n, p in enumerate(photos):
        img = cv2.resize(cv2.imread(str(p)), (160, 120))
        for _ in range(hold):
            writer.write(img)
        other = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) if n % 2 else np.full((120, 160, 3), 40 * n % 255,
                                                                                            np.uint8)
        for _ in range(hold):
            writer.write(other)
    writer.release()
    return path


def test_edge_infer_collect_on_a_mixed_clip(tiny_export, tmp_path):
    from typer.testing import CliRunner

    from edge.cli.infer import app

    photos = sorted((FLOWERS / "daisy").glob("*.jpg"))[:6]
    clip = write_mixed_clip(tmp_path / "clip.mp4", photos)  # 96 frames = 9.6 s at 10 fps
    out = tmp_path / "collected"
    result = CliRunner().invoke(app, [str(tiny_export / "model.onnx"), str(clip), "--collect", str(out),
                                      "--collect-rate", "30", "--collect-below", "1.0"])
    assert result.exit_code == 0, result.output
    assert "collect: saved" in result.output
    files = sorted(out.rglob("*.jpg"))
    assert 1 <= len(files) <= 5  # 9.6 s of video at 30/min: one per 2 s at most
    frames = sorted(json.loads(f.with_suffix(".json").read_text())["frame"] for f in files)
    assert all(b - a >= 20 for a, b in zip(frames, frames[1:]))  # 2 s apart in video time
