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


def test_presplit_train_val_folders_are_used_as_is(tmp_path):
    make_dataset(tmp_path / "d" / "train", 4)
    make_dataset(tmp_path / "d" / "val", 2)
    split = make_split(tmp_path / "d")
    assert len(split.train) == 12 and len(split.val) == 6
    assert all("/val/" in str(s.path) for s in split.val)


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
