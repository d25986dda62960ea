"""Several sources in one process (edge.runtime.multi_source, edge.runtime.named_sources): names, refusals,
the shared batcher, and two videos at once answering as each does alone."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from edge.errors import EdgeError
from edge.runtime.named_sources import check_several, is_several, named_sources, split_name
from edge.runtime.options import InferOptions
from tests.conftest import real_photos
from tests.runtime.color_model import write_color_model


def make_video(path: Path, offset: int, frames: int = 60, per_photo: int = 6, size=(128, 96)) -> Path:
    """flowers5 photos, each held for `per_photo` frames, starting at photo `offset` (so two videos differ)."""
    import cv2

    photos = [p for group in zip(*real_photos(4).values()) for p in group]
    images = [cv2.resize(cv2.imread(str(p)), size, interpolation=cv2.INTER_AREA) for p in photos]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, size)
    assert writer.isOpened()
    for index in range(frames):
        writer.write(images[(index // per_photo + offset) % len(images)])
    writer.release()
    return path


@pytest.fixture(scope="module")
def color_model(tiny_export, tmp_path_factory) -> Path:
    return write_color_model(tiny_export, tmp_path_factory.mktemp("color"))


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("several")
    return make_video(folder / "a.mp4", 0), make_video(folder / "b.mp4", 5, frames=45)


def test_names_are_given_or_the_position(videos):
    a, b = (str(v) for v in videos)
    assert split_name("door=0") == ("door", "0") and split_name("0") == (None, "0")
    assert split_name("rtsp://cam/live?user=x") == (None, "rtsp://cam/live?user=x")
    assert split_name("Door=0") == (None, "Door=0")  # names are lower case: this is a (missing) file
    assert [(s.name, s.spec, s.kind) for s in named_sources([a, "porch=" + b])] == [("0", a, "video"),
                                                                                   ("porch", b, "video")]
    single = InferOptions(artifact=Path("m.onnx"), sources=[a])
    assert single.source == a and not single.several  # edge-infer MODEL SOURCE: the run it always was
    named = InferOptions(artifact=Path("m.onnx"), sources=["door=" + a])
    assert named.source is None and named.several and is_several(["door=" + a]) and not is_several([a])
    assert InferOptions(artifact=Path("m.onnx"), source=a).sources is None  # what programs pass stays theirs


@pytest.mark.parametrize("sources,extra,words", [
    (["VIDEO", "FOLDER"], {}, "one SOURCE at a time"),
    (["VIDEO", "-"], {}, "stdin is classified one SOURCE at a time"),
    (["live=VIDEO", "VIDEO"], {}, "reserved name"),
    (["x=VIDEO", "x=VIDEO"], {}, "the name 'x' is taken"),
    (["1=VIDEO", "VIDEO"], {}, "the name '1' is taken"),
    (["0", "cam=0"], {}, "given twice"),
    (["VIDEO", "VIDEO"], {"save": Path("out.mp4")}, "--save draws one source"),
    (["0", "1"], {"loop": True}, "--loop plays video files; none of the sources is one"),
    (["VIDEO", "VIDEO"], {"update_from": "https://example.invalid/models/"}, "--update-from swaps the model"),
])
def test_what_several_sources_refuse_is_one_line(videos, tmp_path, sources, extra, words):
    specs = [s.replace("VIDEO", str(videos[0])).replace("FOLDER", str(tmp_path)) for s in sources]
    with pytest.raises(EdgeError, match=words):
        check_several(InferOptions(artifact=Path("m.onnx"), sources=specs, **extra))


class SlowModel:
    """answers(batch) after 30 ms, the top label being the row's first pixel value; records batch sizes."""

    def __init__(self):
        self.sizes: list[int] = []

    def answers(self, batch, k):
        self.sizes.append(len(batch))
        time.sleep(0.03)
        return [([(f"v{int(row.flat[0])}", 1.0)], False, None) for row in batch]


def test_the_batcher_runs_frames_waiting_together_in_one_call():
    from edge.runtime.multi_source import Batcher

    model = SlowModel()
    batcher = Batcher(model, max_batch=3)
    got: dict[int, list[str]] = {}

    def source(i: int) -> None:
        got[i] = [batcher.answers(np.full((1, 3, 2, 2), i, np.float32), 1)[0][0][0][0] for _ in range(6)]

    threads = [threading.Thread(target=source, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    batcher.close()
    assert got == {i: [f"v{i}"] * 6 for i in range(3)}  # each source gets its own frame's answer
    assert sum(model.sizes) == 18 and max(model.sizes) > 1 and max(model.sizes) <= 3
    assert "inference calls" in batcher.line()


def test_two_videos_at_once_answer_as_each_does_alone(color_model, videos):
    from edge.runtime import Classifier
    from edge.runtime.multi_source import several_loop
    from edge.runtime.source_run import source_loop
    from edge.runtime.timing import Summary

    clf = Classifier(color_model, threads=1, spin_wait=False)
    alone = {}
    for name, video in zip(("door", "porch"), videos):
        rows = []
        source_loop(clf, InferOptions(artifact=color_model, source=str(video)), "video", Summary(), rows.append)()
        alone[name] = [(p.frame, p.label, round(p.top[0][1], 4)) for p in rows]
    rows, lines = [], []
    opts = InferOptions(artifact=color_model, sources=[f"door={videos[0]}", f"porch={videos[1]}"])
    summary = several_loop(clf, opts, Summary(), rows.append, report=lines.append)()
    together = {name: [(p.frame, p.label, round(p.top[0][1], 4)) for p in rows if p.source == name]
                for name in ("door", "porch")}
    assert together == alone and alone["door"] != alone["porch"]
    assert len({label for _, label, _ in alone["door"]}) > 1  # the model's answer follows the photos
    d = summary.to_dict()
    assert d["classified"] == 60 + 45 and d["sources"]["door"]["classified"] == 60
    assert d["sources"]["porch"]["classified"] == 45 and d["sources"]["door"]["fps"] > 0 < d["sources"]["porch"]["fps"]
    assert "per source door" in summary.line() and any(line.startswith("inference calls") for line in lines)


def test_a_source_that_fails_stops_the_others_and_its_error_is_raised(color_model, videos):
    from edge.runtime import Classifier
    from edge.runtime.multi_source import several_loop
    from edge.runtime.timing import Summary

    clf = Classifier(color_model, threads=1, spin_wait=False)
    opts = InferOptions(artifact=color_model, sources=[str(videos[0]), "/dev/video97"], loop=True, realtime=True)
    summary, start = Summary(), time.monotonic()
    with pytest.raises(EdgeError, match="camera /dev/video97"):
        several_loop(clf, opts, summary, lambda p: None)()
    assert time.monotonic() - start < 15  # the looping video stopped with it
    assert summary.parts["1"].classified == 0
