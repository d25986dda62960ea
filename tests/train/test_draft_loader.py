"""Training's loader decodes a photo exactly as the runtime does (issue 21.5: draft JPEG decoding)."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from edge.runtime.preprocess import Preprocessor
from edge.train.data import make_split
from edge.train.datasets import ImageDataset
from edge.train.transforms import val_transform
from edge.train.zoo import get_entry, manifest_for
from tests.runtime.test_draft_decode import jpeg, photo


def _phone_dataset(root, sizes=((2048, 1536), (1536, 2048), (1200, 900), (400, 300))):
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for i, size in enumerate(sizes):
            (root / label / f"{i}.jpg").write_bytes(jpeg(photo(*size, seed=i + 7 * (label == "b"))))
    return root


def test_train_loader_sees_the_runtime_pixels(tmp_path):
    split = make_split(_phone_dataset(tmp_path / "d"), 0.25, seed=0)
    entry = get_entry("efficientnet_lite0")
    manifest = manifest_for(entry, entry.preprocessing, split.classes, "")
    pre = manifest.preprocessing
    assert pre.decode == "draft" and pre.decode_side == 256  # what a new run writes
    samples = split.train + split.val
    ds = ImageDataset(samples, val_transform(entry.preprocessing), min_side=pre.decode_side)
    runtime = Preprocessor(manifest)
    drafted = 0
    for i, sample in enumerate(samples):
        train_img, runtime_img = ds.image(i), runtime.load(sample.path)
        assert train_img.size == runtime_img.size
        assert np.array_equal(np.asarray(train_img), np.asarray(runtime_img))  # same pixels, same file
        drafted += train_img.size != Image.open(sample.path).size
        assert np.abs(ds[i][0].numpy() - runtime(runtime_img)).max() < 1e-5  # and the same model input
    assert drafted >= 4  # the phone-sized photos really were drafted (the 400x300 ones cannot be)


def test_every_training_dataset_follows_the_manifest(tmp_path):
    from edge.train.config import TrainConfig
    from edge.train.session import open_session

    cfg = TrainConfig(data=str(_phone_dataset(tmp_path / "d")), out=str(tmp_path / "run"), model="mobilenet_v3_small",
                      pretrained=False, image_size=64, num_workers=0, device="cpu")
    s = open_session(cfg, resume=False, log=lambda *_: None)
    pre = s.manifest.preprocessing
    assert pre.decode == "draft" and pre.decode_side == pre.resize_size == 73
    assert s.train_ds.min_side == s.val_ds.min_side == 73
    for ds in (s.train_ds, s.val_ds):  # every photo here is at least 4 x 73 px on its short side: drafted
        assert all(ds.image(i).size != Image.open(x.path).size for i, x in enumerate(ds.samples))


def test_a_run_and_its_export_record_the_decode(tiny_run, tiny_export):
    assert json.loads((tiny_run / "manifest.json").read_text())["decode"] == "draft"
    assert json.loads((tiny_export / "manifest.json").read_text())["decode"] == "draft"
