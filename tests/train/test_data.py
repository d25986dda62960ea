"""Dataset scanning, bad files, image modes, the split, and train/val transform separation."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from edge.errors import EdgeError
from edge.runtime.images import load_rgb
from edge.train.data import Split, make_split
from edge.train.datasets import ImageDataset
from edge.train.transforms import train_transform, val_transform
from edge.train.zoo import get_entry
from tests.conftest import make_dataset, synthetic_image


def test_split_is_stratified_seeded_and_disjoint(tmp_path):
    data = make_dataset(tmp_path / "d", 10)
    a, b, c = make_split(data, 0.2, seed=1), make_split(data, 0.2, seed=1), make_split(data, 0.2, seed=2)
    assert [s.path for s in a.val] == [s.path for s in b.val]  # same seed, same split
    assert [s.path for s in a.val] != [s.path for s in c.val]
    assert not {s.path for s in a.train} & {s.path for s in a.val}
    assert len(a.train) + len(a.val) == 30
    for label in range(3):  # 20% of 10 per class
        assert sum(s.label == label for s in a.val) == 2
    assert a.classes == ["daisy", "roses", "tulips"]


def test_split_saves_and_reloads(tmp_path):
    data = make_dataset(tmp_path / "d", 5)
    split = make_split(data, 0.2, seed=0)
    digest = split.save(tmp_path / "split.json")
    again = Split.load(tmp_path / "split.json")
    assert len(digest) == 64
    assert [s.path for s in again.val] == [s.path for s in split.val]
    assert [s.label for s in again.train] == [s.label for s in split.train]


def test_a_val_folder_is_held_out_of_everything(tmp_path):
    """train/ + val/: train/ is split as a class folder would be, val/ is the holdout no decision sees."""
    make_dataset(tmp_path / "d" / "train", 4)
    make_dataset(tmp_path / "d" / "val", 2)
    split = make_split(tmp_path / "d", 0.25)
    assert len(split.train) + len(split.val) == 12 and len(split.holdout) == 6
    assert all("/train/" in str(s.path) for s in split.train + split.val)
    assert all("/val/" in str(s.path) for s in split.holdout)
    split.save(tmp_path / "split.json")
    again = Split.load(tmp_path / "split.json")
    assert [s.path for s in again.holdout] == [s.path for s in split.holdout]
    from edge.train.strategy import choose_plan

    assert "12 labelled images" in choose_plan("auto", len(split.train) + len(split.val)).reason


def test_root_is_stored_absolute_and_found_from_elsewhere(tmp_path, monkeypatch):
    """`make train` passes data/flowers5: split.json keeps the absolute folder, so export works from any folder."""
    import json
    import os

    from edge.train.api import load_split

    make_dataset(tmp_path / "proj" / "data" / "flowers", 3)
    run = tmp_path / "proj" / "runs" / "r"
    run.mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "proj")
    make_split("data/flowers").save(run / "split.json")
    assert json.loads((run / "split.json").read_text())["root"] == str(tmp_path / "proj" / "data" / "flowers")
    monkeypatch.chdir(tmp_path)
    assert load_split(run).train[0].path.is_file()
    # a run written before: a relative root, read from another folder, is found above the run
    data = json.loads((run / "split.json").read_text())
    (run / "split.json").write_text(json.dumps({**data, "root": "data/flowers"}))
    assert load_split(run).root == tmp_path / "proj" / "data" / "flowers"
    # the project copied elsewhere with its data (the old place gone): found beside the copied run
    os.rename(tmp_path / "proj", tmp_path / "copy")
    (tmp_path / "copy" / "runs" / "r" / "split.json").write_text(json.dumps(data))  # the absolute, now stale root
    assert load_split(tmp_path / "copy" / "runs" / "r").root == tmp_path / "copy" / "data" / "flowers"
    with pytest.raises(EdgeError, match="training data moved; pass --data"):
        os.rename(tmp_path / "copy" / "data", tmp_path / "elsewhere")
        load_split(tmp_path / "copy" / "runs" / "r")
    assert load_split(tmp_path / "copy" / "runs" / "r", tmp_path / "elsewhere" / "flowers").train[0].path.is_file()


def test_an_unknown_folder_is_left_out_unless_asked(tmp_path):
    data = make_dataset(tmp_path / "d", 3)
    (data / "unknown").mkdir()
    for p in sorted((data / "daisy").iterdir())[:2]:
        (data / "unknown" / p.name).write_bytes(p.read_bytes())
    split = make_split(data)
    assert split.classes == ["daisy", "roses", "tulips"] and split.left_out == [str(data / "unknown")]
    assert make_split(data, unknown_as_class=True).classes == ["daisy", "roses", "tulips", "unknown"]


def test_a_flat_folder_says_to_make_class_folders(tmp_path):
    data = tmp_path / "flat"
    data.mkdir()
    for p in sorted((make_dataset(tmp_path / "d", 2) / "daisy").iterdir()):
        (data / p.name).write_bytes(p.read_bytes())
    with pytest.raises(EdgeError) as err:
        make_split(data)
    assert "found 0 class folders and 2 photos directly in it" in str(err.value)
    assert "put the photos in one sub-folder per class" in str(err.value) and "folder(s)" not in str(err.value)


def test_bad_files_are_skipped_and_listed(tmp_path):
    data = make_dataset(tmp_path / "d", 4)
    (data / "daisy" / "zero.jpg").write_bytes(b"")
    (data / "roses" / "notes.txt").write_text("not an image")
    good = next((data / "tulips").iterdir()).read_bytes()
    (data / "tulips" / "truncated.jpg").write_bytes(good[: len(good) // 3])
    split = make_split(data, 0.25, seed=0)
    assert len(split.skipped) == 3
    assert any("zero.jpg: empty file" in s for s in split.skipped)
    assert len(split.train) + len(split.val) == 12


def test_too_few_classes_or_images_is_a_clear_error(tmp_path):
    data = make_dataset(tmp_path / "one", 3, classes=("daisy",))
    with pytest.raises(EdgeError, match="at least 2"):
        make_split(data)
    data = make_dataset(tmp_path / "two", 3, classes=("daisy", "roses"))
    for p in list((data / "roses").iterdir())[1:]:
        p.unlink()
    with pytest.raises(EdgeError, match="class 'roses' has 1 usable image"):
        make_split(data)
    with pytest.raises(EdgeError, match="not found"):
        make_split(tmp_path / "missing")


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "LA", "I;16"])
def test_image_modes_become_rgb(mode):
    src = synthetic_image(0)
    img = src.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(src.convert("L")).astype(np.uint16) * 256)
    fmt = "JPEG" if mode == "CMYK" else ("TIFF" if mode == "I;16" else "PNG")
    out = load_rgb(_encode(img, fmt))
    assert out.mode == "RGB" and out.size == src.size
    if mode in ("L", "I;16"):
        grey = np.asarray(src.convert("L"), dtype=np.int16)
        assert np.abs(np.asarray(out)[..., 0].astype(np.int16) - grey).mean() < 3


def test_transparent_pixels_become_white():
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert load_rgb(_encode(img, "PNG")).getpixel((0, 0)) == (255, 255, 255)


def test_exif_rotation_is_applied():
    img = Image.new("RGB", (40, 20), (0, 128, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW
    out = load_rgb(_encode(img, "JPEG", exif=exif))
    assert out.size == (20, 40)


def test_train_and_val_transforms_are_separate(tmp_path):
    """Changing the val dataset's transform cannot touch the train dataset (the random_split bug)."""
    data = make_dataset(tmp_path / "d", 4)
    split = make_split(data, 0.25, seed=0)
    pre = get_entry("efficientnet_lite0").preprocessing.at_size(64)
    train_ds = ImageDataset(split.train, train_transform(pre), min_side=None)
    val_ds = ImageDataset(split.val, val_transform(pre), min_side=None)
    assert train_ds.transform is not val_ds.transform
    val_ds.transform = val_transform(pre)
    assert train_ds.transform.transforms[0].__class__.__name__ == "RandomResizedCrop"
    torch.manual_seed(0)
    first = train_ds[0][0]
    torch.manual_seed(1)
    assert not torch.equal(first, train_ds[0][0])  # train: random augmentation
    assert torch.equal(val_ds[0][0], val_ds[0][0])  # val: deterministic
    assert val_ds[0][0].shape == (3, 64, 64)
