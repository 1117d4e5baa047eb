"""Test images made in code (never committed), and real face photos read from ../shared."""

import io
import os
import struct
import zlib
from pathlib import Path

from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_FACES = Path(os.environ.get("SMARTGALLERY_SHARED_DIR", REPO_ROOT.parent / "shared")) / "faces"


def jpeg_bytes(
    width: int = 64, height: int = 48, *, color=(200, 120, 40), exif: Image.Exif | None = None, quality=90
) -> bytes:
    image = Image.new("RGB", (width, height), color)
    # A gradient so two sizes never share a hash by accident.
    for x in range(0, width, max(1, width // 8)):
        image.putpixel((x, height // 2), (x % 256, 0, 255 - x % 256))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, exif=exif if exif is not None else b"")
    return buffer.getvalue()


def encode(image: Image.Image, image_format: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def gps_exif(latitude=(48, 51, 30), longitude=(2, 17, 40)) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", tuple(float(v) for v in latitude)
    gps[3], gps[4] = "E", tuple(float(v) for v in longitude)
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2019:07:14 10:30:00"
    sub[0x9011] = "+02:00"
    return exif


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims to be huge: IHDR, a few compressed bytes of IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def gif_bytes() -> bytes:
    return encode(Image.new("P", (1, 1)), "GIF")


def face_photo(name: str = "Barack_Obama/fr_obama.jpg") -> bytes:
    return (SHARED_FACES / name).read_bytes()


def group_photo() -> bytes:
    return (SHARED_FACES / "_groups" / "deepface_couple.jpg").read_bytes()


def mpo_bytes() -> bytes:
    """A multi-picture JPEG (MPO) as phones and 3D cameras write it: a face photo, then a
    second picture."""
    first = Image.open(io.BytesIO(face_photo())).convert("RGB")
    second = Image.new("RGB", first.size, (30, 60, 90))
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    return buffer.getvalue()
