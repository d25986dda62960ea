"""Runtime preprocessing (Pillow + numpy) against training's torchvision pipeline, on real photos."""

from __future__ import annotations

import numpy as np
import pytest

from edge.manifest import SCHEMA_VERSION, Manifest
from edge.preprocessing import Preprocessing
from edge.runtime.images import load_rgb
from edge.runtime.preprocess import Preprocessor
from tests.conftest import real_photos


def manifest_for(interp: str, resize: int, crop: int, mean, std, order="RGB", layout="NCHW") -> Manifest:
    return Manifest(SCHEMA_VERSION, "x", ("a", "b"), (3, crop, crop),
                    Preprocessing(resize, crop, interp, tuple(mean), tuple(std)), order, layout, "fp32", {}, {}, "")


ZOO = [("bicubic", 256, 224, (0.5,) * 3, (0.5,) * 3), ("bilinear", 232, 224, (0.485, 0.456, 0.406),
                                                        (0.229, 0.224, 0.225))]


@pytest.mark.parametrize("interp,resize,crop,mean,std", ZOO)
def test_matches_torchvision_on_flowers(interp, resize, crop, mean, std):
    from edge.train.transforms import val_transform

    photos = [p for paths in real_photos(10, ("daisy", "dandelion", "roses", "sunflowers", "tulips")).values()
              for p in paths]
    ours = Preprocessor(manifest_for(interp, resize, crop, mean, std))
    theirs = val_transform(Preprocessing(resize, crop, interp, mean, std))
    worst = 0.0
    for path in photos:
        img = load_rgb(path)
        worst = max(worst, float(np.abs(ours(img) - theirs(img).numpy()).max()))
    assert worst < 1e-5, worst  # same pixels; only float rounding of the normalization differs


def test_bgr_and_nhwc_layouts():
    rng = np.random.default_rng(0)
    from PIL import Image

    img = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    base = Preprocessor(manifest_for("bilinear", 128, 112, (0.1, 0.2, 0.3), (0.4, 0.5, 0.6)))(img)
    bgr = Preprocessor(manifest_for("bilinear", 128, 112, (0.1, 0.2, 0.3), (0.4, 0.5, 0.6), order="BGR"))(img)
    nhwc = Preprocessor(manifest_for("bilinear", 128, 112, (0.1, 0.2, 0.3), (0.4, 0.5, 0.6), layout="NHWC"))(img)
    assert base.shape == (3, 112, 112) and nhwc.shape == (112, 112, 3)
    np.testing.assert_allclose(bgr, base[::-1], atol=1e-6)
    np.testing.assert_allclose(nhwc, base.transpose(1, 2, 0), atol=1e-6)


def test_portrait_and_landscape_resize_like_torchvision():
    from PIL import Image

    pre = Preprocessor(manifest_for("bilinear", 100, 90, (0.5,) * 3, (0.5,) * 3))
    assert pre.resize_crop(Image.new("RGB", (300, 200))).size == (90, 90)
    assert pre.resize_crop(Image.new("RGB", (333, 500))).size == (90, 90)


def test_runtime_predictions_match_pytorch_with_torchvision(tiny_run, tiny_export):
    """End to end: torchvision + PyTorch vs our preprocessing + ONNX Runtime, on real photos.

    The batch `predict` feeds the model must be torchvision's pixels to float rounding (a one-pixel crop
    shift, another filter or a mean off by 0.01 moves them by 0.01 to 4), and ONNX Runtime's logits
    PyTorch's. The 1-epoch random-init model answers almost the same logits for every photo, so its
    logits and top-1 check the graph, not the preprocessing: the pixel comparison guards that."""
    import torch

    from edge.runtime import Classifier
    from edge.train import checkpoint
    from edge.train.transforms import val_transform

    payload = checkpoint.load(tiny_run)
    m = payload["manifest"]
    model = checkpoint.rebuild(payload)
    tv = val_transform(m.preprocessing)
    clf = Classifier(tiny_export / "model.onnx")
    photos = [p for paths in real_photos(8, ("daisy", "dandelion", "roses", "sunflowers", "tulips")).values()
              for p in paths]
    theirs = torch.stack([tv(load_rgb(p, min_side=m.preprocessing.decode_side)) for p in photos])
    fed = []
    answers = clf.answers
    clf.answers = lambda batch, k: fed.append(batch) or answers(batch, k)  # the batch predict() runs the model on
    predictions = clf.predict(photos, k=1)
    np.testing.assert_allclose(fed[0], theirs.numpy(), rtol=0, atol=1e-5)  # same pixels, float rounding only
    with torch.no_grad():
        torch_logits = model(theirs).numpy()
    np.testing.assert_allclose(clf.logits(fed[0]), torch_logits, rtol=1e-4, atol=1e-6)
    assert [p.top[0][0] for p in predictions] == [clf.labels[i] for i in torch_logits.argmax(1)]
