"""Pixels in, pixels out: decoding a stored original and encoding derivatives.

Every derivative (preview, thumbnail, face crop) is encoded from a fresh pixel array, so no
EXIF, GPS, XMP, ICC or comment bytes of the original can ride along into it.
"""

from __future__ import annotations

import io
from typing import IO

import cv2
import numpy as np
from PIL import Image, ImageOps

from gallery.validation import ALLOWED_FORMATS

JPEG_QUALITY = 85


def load_upright_rgb(stream: IO[bytes]) -> np.ndarray:
    """Decode a stored original into an (H, W, 3) uint8 RGB array, EXIF orientation applied.

    Same result as faces.engine.load_upright_rgb, but only through the formats we accept.
    """
    with Image.open(stream, formats=ALLOWED_FORMATS) as image:
        image.load()
        if image.mode != "RGB":
            image = image.convert("RGB")
        ImageOps.exif_transpose(image, in_place=True)
        return np.asarray(image)


def fit(rgb: np.ndarray, size: int) -> np.ndarray:
    """Scale down (never up) so the longer side is at most `size` pixels."""
    height, width = rgb.shape[:2]
    scale = size / max(height, width)
    if scale >= 1:
        return rgb
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Area interpolation averages the source pixels: no aliasing, and much faster than
    # Lanczos over a 12 MP photo.
    return cv2.resize(rgb, target, interpolation=cv2.INTER_AREA)


def encode_jpeg(rgb: np.ndarray, *, quality: int = JPEG_QUALITY) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def square_crop(rgb: np.ndarray, box: tuple[float, float, float, float], *, margin: float, size: int) -> np.ndarray:
    """A square around `box` grown by `margin` (a fraction of the box side).

    Near an edge the square slides inwards rather than being cut, so it stays square.
    """
    height, width = rgb.shape[:2]
    x1, y1, x2, y2 = box
    side = min(max(x2 - x1, y2 - y1) * (1 + 2 * margin), width, height)
    left = min(max(0.0, (x1 + x2 - side) / 2), width - side)
    top = min(max(0.0, (y1 + y2 - side) / 2), height - side)
    left, top, side = int(left), int(top), max(1, int(side))
    return fit(rgb[top : top + side, left : left + side], size)
