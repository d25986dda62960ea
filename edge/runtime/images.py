"""Decode any photo to an upright RGB PIL image (shared by training and the runtime)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from edge.errors import EdgeError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
# Bounds checked from the header, before any pixel is decoded: a 109 KB PNG can declare 30000x30000
# pixels, and a 1x40000 strip resized to a 256 px short side needed 7.9 GB.
MAX_PIXELS = 64_000_000  # 8000x8000; Pillow itself only warns up to ~179 M
MAX_ASPECT = 20  # long side / short side; a 1:20 panorama still resizes to a bounded size


def to_rgb(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation and convert any mode (L, P, RGBA, CMYK, I;16) to RGB."""
    img = ImageOps.exif_transpose(img)
    if img.mode == "RGB":
        return img
    if img.mode == "P":  # palette images may carry transparency in the palette
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", img.size, (255, 255, 255))  # transparent -> white
        background.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
        return background
    if img.mode.startswith("I;16") or img.mode == "I":
        img = img.point(lambda v: v / 256).convert("L")  # 16-bit -> 8-bit, keeping contrast
    return img.convert("RGB")


def draft_scale(size: tuple[int, int], min_side: int | None) -> int:
    """The JPEG DCT scale (1, 2, 4 or 8) that decoding at `min_side` uses: the largest one whose
    shorter side is still at least `min_side` (1: decode fully)."""
    if not min_side:
        return 1
    return max((s for s in (1, 2, 4, 8) if min(size) >= s * min_side), default=1)


def _draft(img: Image.Image, min_side: int | None) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale in the DCT domain (12 MP to 256 px: ~7x faster).

    Pillow's `draft(mode, (w, h))` (JPEG and MPO only) picks the largest s in 8, 4, 2, 1 with
    s <= min(width // w, height // h) and gives ceil(width / s) x ceil(height / s); asking for a
    square (min_side, min_side) is therefore exactly `draft_scale`, whatever the EXIF orientation.
    Scale 1 is not asked for at all, so a photo that cannot shrink decodes as it always did.
    """
    if img.format in ("JPEG", "MPO") and draft_scale(img.size, min_side) > 1:
        img.draft("RGB", (min_side, min_side))  # "RGB" keeps the mode: L and CMYK are converted by to_rgb


def load_rgb(source: str | Path | bytes, min_side: int | None = None, name: str | None = None) -> Image.Image:
    """Decode a file (or raw bytes); raise EdgeError naming the file if it cannot be.

    `min_side` (`manifest.preprocessing.decode_side`): a JPEG may decode at reduced scale as long as its
    shorter side stays at least this many pixels. None: decode fully (every other format always is).
    """
    is_file = not isinstance(source, bytes)  # bytes (an upload, stdin) are sent again, not removed from a folder
    name = name or ("<bytes>" if not is_file else str(source))  # stdin names itself "stdin"
    try:
        fp = io.BytesIO(source) if not is_file else source
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, by our bounds
            with Image.open(fp) as img:
                check_size(img.size, name, is_file)  # the declared size: bounds hold before any draft
                _draft(img, min_side)
                img.load()
                return to_rgb(img)
    except FileNotFoundError:
        raise EdgeError(f"{name}: file not found") from None
    except Image.DecompressionBombError:
        raise EdgeError(f"{name}: declares more than {MAX_PIXELS:,} pixels (decompression bomb?); "
                        + ("remove it or shrink it" if is_file else "send a smaller image")) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        empty = _is_empty(source)
        if is_file:
            reason = "empty file" if empty else f"not a readable image ({type(exc).__name__})"
            raise EdgeError(f"{name}: {reason}; remove or replace it") from None
        reason = "no bytes" if empty else f"not a readable image ({type(exc).__name__}: cut short or damaged?)"
        raise EdgeError(f"{name}: {reason}; send a complete image file (JPEG, PNG, WebP, BMP, TIFF ...)") from None


def check_size(size: tuple[int, int], name: str, is_file: bool = True) -> None:
    """Refuse sizes no photo has; the advice is for a file in a folder, or (is_file=False) for sent bytes."""
    width, height = size
    if width < 1 or height < 1:
        raise EdgeError(f"{name}: image has no pixels ({width}x{height}); "
                        + ("remove or replace it" if is_file else "send a real image"))
    if width * height > MAX_PIXELS:
        raise EdgeError(f"{name}: {width}x{height} is more than {MAX_PIXELS:,} pixels (decompression bomb?); "
                        + ("remove it or shrink it" if is_file else "send a smaller image"))
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise EdgeError(f"{name}: {width}x{height} is a strip, not a photo (aspect ratio over {MAX_ASPECT}:1); "
                        + ("crop it or remove it" if is_file else "crop it and send it again"))


def _is_empty(source: str | Path | bytes) -> bool:
    if isinstance(source, bytes):
        return len(source) == 0
    try:
        return Path(source).stat().st_size == 0
    except OSError:
        return False


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES
