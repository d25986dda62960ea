"""The live frame path (edge.runtime.live_preprocess) against the exact one, on real photos made into frames.

Agreement of a real model's answers is measured by scripts/preprocess_bench.py (a trained efficientnet_lite0
on all of flowers5: minutes); here, the pixels: how far the live path's input is from the exact path's."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edge.errors import EdgeError
from edge.manifest import SCHEMA_VERSION, Manifest
from edge.preprocessing import Preprocessing
from edge.runtime.classifier import as_rgb_image
from edge.runtime.images import load_rgb
from edge.runtime.live_preprocess import CropBox, LiveResizer
from edge.runtime.preprocess import Preprocessor
from tests.conftest import real_photos


def manifest(interp="bicubic", resize=256, crop=224, order="RGB", layout="NCHW", frames="live") -> Manifest:
    return Manifest(SCHEMA_VERSION, "x", ("a", "b"), (3, crop, crop), Preprocessing(resize, crop, interp, (0.5,) * 3,
                    (0.5,) * 3, frame_preprocess=frames), order, layout, "int8", {}, {}, "")


def frames(size: tuple[int, int], n: int = 2) -> list[np.ndarray]:
    """Real photos made into BGR frames of `size` (each photo's largest box of that aspect, resized)."""
    out = []
    for paths in real_photos(n).values():
        for path in paths:
            img = load_rgb(path)
            w, h = img.size
            bw = min(w, h * size[0] / size[1])
            bh = bw * size[1] / size[0]
            box = ((w - bw) / 2, (h - bh) / 2, (w + bw) / 2, (h + bh) / 2)
            out.append(np.asarray(img.resize(size, Image.BICUBIC, box=box))[:, :, ::-1].copy())
    return out


def grey_levels(m: Manifest, frame: np.ndarray) -> np.ndarray:
    """|live - exact| of one frame, in grey levels (0-255)."""
    exact = Preprocessor(m.with_preprocessing(frame_preprocess="exact"))
    return np.abs(Preprocessor(m).frame(frame) - exact.frame(frame)) / exact.scale.ravel()[0]


@pytest.mark.parametrize("interp,resize,crop", [("bicubic", 256, 224), ("bicubic", 224, 224), ("bilinear", 232, 224)])
def test_a_640x480_frame_is_within_half_a_grey_level_of_the_exact_path(interp, resize, crop):
    diffs = [grey_levels(manifest(interp, resize, crop), f) for f in frames((640, 480))]
    assert np.mean([d.mean() for d in diffs]) < 0.5  # measured 0.31-0.42 (0.73 before the 1/12 sharpening)
    assert max(np.percentile(d, 99) for d in diffs) < 6


def test_a_1080p_frame_goes_through_the_pyramid_and_stays_close():
    diffs = [grey_levels(manifest(), f) for f in frames((1920, 1080), 1)]
    assert np.mean([d.mean() for d in diffs]) < 1.2  # measured 0.83: pyrDown's Gaussian adds a little blur


@pytest.mark.parametrize("size", [(320, 240), (300, 224), (240, 320)])
def test_frames_near_the_resize_size_take_pillow_on_the_box_and_match_it(size):
    """Under 1.5x (and when enlarging) Pillow resizes the crop box itself: the exact path's pixels, but for
    float rounding of a filter centre now and then (a grey level or two, on a handful of pixels)."""
    for f in frames(size, 1):
        d = grey_levels(manifest(), f)
        assert d.max() <= 2.01 and d.mean() < 0.01


def test_a_frame_already_at_the_resize_size_is_only_cropped():
    m = manifest(resize=258)
    f = frames((344, 258), 1)[0]
    assert CropBox.of(344, 258, 258, 224).resized == (344, 258)
    np.testing.assert_array_equal(Preprocessor(m).frame(f), Preprocessor(m.with_preprocessing(frame_preprocess="exact")).frame(f))


def test_nearest_manifests_get_the_exact_pixels():
    m = manifest("nearest")
    exact = Preprocessor(m.with_preprocessing(frame_preprocess="exact"))
    for f in frames((640, 480), 1):
        np.testing.assert_array_equal(Preprocessor(m).frame(f), exact.frame(f))


def test_the_exact_frame_path_is_todays_pixels():
    """`exact` (and every manifest from before the field) swaps the channels in Pillow's copy: the same input
    as today's numpy copy to RGB, for less."""
    m = manifest(frames="exact")
    old = Manifest.from_dict({k: v for k, v in m.to_dict().items() if k != "frame_preprocess"})
    assert old.preprocessing.frame_preprocess == "exact"
    for f in frames((640, 480), 1):
        np.testing.assert_array_equal(Preprocessor(old).frame(f), Preprocessor(old)(as_rgb_image(f)))


@pytest.mark.parametrize("order,layout", [("BGR", "NCHW"), ("RGB", "NHWC"), ("BGR", "NHWC")])
def test_channel_order_and_layout_follow_the_manifest(order, layout):
    f = frames((640, 480), 1)[0]
    m = manifest(order=order, layout=layout)
    x, ref = Preprocessor(m).frame(f), Preprocessor(m.with_preprocessing(frame_preprocess="exact")).frame(f)
    assert x.shape == ref.shape == ((3, 224, 224) if layout == "NCHW" else (224, 224, 3))
    assert np.abs(x - ref).mean() * 127.5 < 0.5  # in the right channels, or the mean would be tens of levels


def test_portrait_grey_and_odd_sized_frames():
    pre = Preprocessor(manifest())
    rng = np.random.default_rng(0)
    for shape in ((640, 480, 3), (480, 640), (101, 999, 3), (30, 20, 3)):
        assert pre.frame(rng.integers(0, 255, shape, dtype=np.uint8)).shape == (3, 224, 224)
    with pytest.raises(EdgeError, match="uint8"):
        pre.frame(np.zeros((480, 640, 3), np.float32))
    with pytest.raises(EdgeError, match="shape"):
        pre.frame(np.zeros((480, 640, 4), np.uint8))


def test_frames_of_one_size_share_their_geometry():
    resizer = LiveResizer(manifest())
    frame = np.zeros((480, 640, 3), np.uint8)
    resizer(frame), resizer(frame)
    assert list(resizer._boxes) == [(640, 480)]
    box = resizer.box(640, 480)  # torchvision's rounding: 341x256, crop from (58, 16)
    assert box.resized == (341, 256) and box.crop == (58, 16, 282, 240)


def test_new_runs_write_the_live_path():
    pytest.importorskip("torch")
    from edge.train.zoo import get_entry, manifest_for

    m = manifest_for(get_entry("mobilenet_v3_small"), Preprocessing(232, 224, "bilinear", (0.5,) * 3, (0.5,) * 3),
                     ["a", "b"], "")
    assert m.preprocessing.frame_preprocess == "live"
