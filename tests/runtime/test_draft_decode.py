"""Phone-sized JPEGs decode at the smallest DCT scale that still leaves the resize size (issue 21.5)."""

from __future__ import annotations

import io
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from edge.errors import EdgeError
from edge.manifest import SCHEMA_VERSION, Manifest
from edge.preprocessing import Preprocessing
from edge.runtime.classifier import as_rgb_image
from edge.runtime.images import draft_scale, load_rgb
from edge.runtime.pipeline import _decode_and_preprocess
from edge.runtime.preprocess import Preprocessor

RESIZE = 256


def manifest(decode: str = "draft", resize: int = RESIZE, crop: int = 224) -> Manifest:
    return Manifest(SCHEMA_VERSION, "x", ("a", "b"), (3, crop, crop),
                    Preprocessing(resize, crop, "bicubic", (0.5,) * 3, (0.5,) * 3, decode), "RGB", "NCHW", "fp32", {}, {}, "")


def photo(width: int = 2048, height: int = 1536, seed: int = 0) -> Image.Image:
    """Smooth shapes at photo scale (noise would make the comparison with a full decode meaningless)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 64, width // 64, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((width, height), Image.BICUBIC)


def jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("size,min_side,scale", [
    ((4032, 3024), 256, 8), ((3024, 4032), 256, 8), ((2048, 1536), 256, 4), ((1024, 767), 256, 2),
    ((1024, 768), 256, 2), ((1024, 512), 256, 2), ((1024, 511), 256, 1), ((500, 375), 256, 1), ((4032, 3024), None, 1),
    ((4032, 3024), 1000, 2), ((4032, 3024), 1, 8)])
def test_scale_is_the_smallest_that_keeps_the_short_side(size, min_side, scale):
    assert draft_scale(size, min_side) == scale
    if min_side:
        assert min(size) / scale >= min_side  # never below the resize size
        assert scale == 8 or min(size) / (2 * scale) < min_side  # and the next scale would be


@pytest.mark.parametrize("size", [(2048, 1536), (1536, 2048), (1999, 1001), (4032, 3024)])
def test_pillow_draft_gives_the_predicted_size(size):
    out = load_rgb(jpeg(photo(*size)), min_side=RESIZE)
    s = draft_scale(size, RESIZE)
    assert s > 1
    assert out.size == (math.ceil(size[0] / s), math.ceil(size[1] / s))
    assert min(out.size) >= RESIZE
    assert load_rgb(jpeg(photo(*size))).size == size  # no min_side: full decode, as before


def test_draft_pixels_are_close_to_a_full_decode_after_the_resize():
    data = jpeg(photo())
    pre = Preprocessor(manifest())
    full, draft = pre(load_rgb(data)), pre(pre.load(data))
    assert full.shape == draft.shape == (3, 224, 224)
    assert np.abs(full - draft).mean() < 0.02  # on the normalised scale (2 / 255 per grey level)


def test_small_photos_decode_exactly_as_before():
    """A JPEG under twice the resize size is not drafted at all: same pixels, bit for bit (flowers5)."""
    data = jpeg(photo(500, 511))
    np.testing.assert_array_equal(np.asarray(load_rgb(data, min_side=RESIZE)), np.asarray(load_rgb(data)))


def test_exif_orientation_is_applied_after_the_draft():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW: a landscape sensor image shown as portrait
    img = photo(2048, 1536)
    data = jpeg(img, exif=exif)
    out = load_rgb(data, min_side=RESIZE)
    assert out.size == (384, 512)
    upright = load_rgb(data)  # the full decode, rotated the same way
    assert upright.size == (1536, 2048)
    small = np.asarray(upright.resize(out.size, Image.BOX), dtype=np.int16)
    assert np.abs(small - np.asarray(out, dtype=np.int16)).mean() < 3


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_grey_and_cmyk_jpegs_draft_and_become_rgb(mode):
    data = jpeg(photo().convert(mode))
    out, full = load_rgb(data, min_side=RESIZE), load_rgb(data)
    assert out.mode == full.mode == "RGB"
    assert out.size == (512, 384)
    small = np.asarray(full.resize(out.size, Image.BOX), dtype=np.int16)
    assert np.abs(small - np.asarray(out, dtype=np.int16)).mean() < 3


def test_progressive_jpegs_draft_too():
    data = jpeg(photo(), progressive=True)
    assert Image.open(io.BytesIO(data)).info.get("progressive")
    out = load_rgb(data, min_side=RESIZE)
    assert out.size == (512, 384)
    pre = Preprocessor(manifest())
    assert np.abs(pre(out) - pre(load_rgb(data))).mean() < 0.02


def test_truncated_jpegs_still_fail_when_drafted():
    data = jpeg(photo())
    with pytest.raises(EdgeError, match="not a readable image"):
        load_rgb(data[: len(data) * 2 // 3], min_side=RESIZE)
    with pytest.raises(EdgeError, match="not a readable image"):
        load_rgb(data[: len(data) * 2 // 3], min_side=1)  # what the dataset scan uses


def test_other_formats_and_camera_frames_are_untouched():
    img = photo()
    buf = io.BytesIO()
    img.save(buf, "PNG")
    assert load_rgb(buf.getvalue(), min_side=RESIZE).size == img.size
    frame = np.asarray(img)[:, :, ::-1].copy()  # a BGR camera frame
    assert as_rgb_image(frame, RESIZE).size == img.size
    assert as_rgb_image(img, RESIZE).size == img.size  # an already decoded PIL image


def test_manifest_decode_field_old_and_new():
    old = json.loads(manifest().to_json())
    del old["decode"]  # a manifest written before the field
    loaded = Manifest.from_dict(old)
    assert loaded.preprocessing.decode == "full" and loaded.preprocessing.decode_side is None  # today's behaviour
    assert Preprocessor(loaded).decode_side is None
    new = Manifest.from_json(manifest("draft").to_json())
    assert new.preprocessing.decode == "draft" and new.preprocessing.decode_side == RESIZE
    with pytest.raises(EdgeError, match="'decode' must be one of"):
        Manifest.from_dict({**old, "decode": "fast"})
    with pytest.raises(EdgeError, match="'decode' must be str"):
        Manifest.from_dict({**old, "decode": True})


def test_runtime_pipeline_decodes_as_the_manifest_says(tmp_path):
    path = tmp_path / "phone.jpg"
    path.write_bytes(jpeg(photo()))
    for decode, expected in (("draft", (512, 384)), ("full", (2048, 1536))):
        pre = Preprocessor(manifest(decode))
        assert pre.load(path).size == expected
        _, x, _, _, error = _decode_and_preprocess(SimpleNamespace(preprocess=pre), path)
        assert error == "" and np.array_equal(x, pre(pre.load(path)))
