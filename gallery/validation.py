"""Decide whether an uploaded file is a photo we keep, from its bytes alone.

Pure functions: no database, no storage. The format comes from the content (the client's file
name is only for display), the whole image is decoded once so a truncated file is caught here
and not in the worker, and EXIF is read as hostile input (bounded, cleaned, never trusted).
"""

from __future__ import annotations

import hashlib
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import IO

import pillow_heif
from django.utils import timezone as django_timezone
from PIL import Image, ImageFile

from smartgallery.text import strip_invisible

pillow_heif.register_heif_opener()

# Pillow format names we decode. Everything else (GIF, SVG, EPS, PDF, PSD, ICO, TGA, FITS...)
# is never handed to a decoder: Image.open(formats=...) does not even try their plugins, so
# Ghostscript (EPS) can never run.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF", "TIFF")
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heif",
    "TIFF": "image/tiff",
}
# TIFF is a container for many codecs, several of them rarely used and historically buggy in
# libtiff. Accept the ones cameras and scanners write; anything else is rejected.
SAFE_TIFF_COMPRESSIONS = {"raw", "tiff_lzw", "tiff_adobe_deflate", "tiff_deflate", "packbits", "jpeg"}
IMAGE_EXTENSIONS = {"jpg", "jpeg", "jpe", "jfif", "mpo", "png", "webp", "heic", "heif", "hif", "tif", "tiff"}
# A name carrying one of these anywhere after its first dot ("x.php.jpg", "x.jpg.php") is a
# classic attempt to get a script executed by a misconfigured server: refuse it outright.
SCRIPT_EXTENSIONS = {
    "php",
    "php3",
    "php4",
    "php5",
    "php7",
    "phtml",
    "phar",
    "pht",
    "html",
    "htm",
    "xhtml",
    "shtml",
    "svg",
    "svgz",
    "xml",
    "js",
    "mjs",
    "jsp",
    "jspx",
    "asp",
    "aspx",
    "cgi",
    "pl",
    "py",
    "sh",
    "exe",
    "bat",
    "cmd",
    "com",
    "dll",
    "jar",
    "hta",
    "swf",
}
DISPLAY_NAME_MAX = 255
EXIF_TEXT_MAX = 200

ORIENTATION_TAG = 0x0112
MAKE_TAG, MODEL_TAG = 0x010F, 0x0110
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME_ORIGINAL_TAG, OFFSET_TIME_ORIGINAL_TAG = 0x9003, 0x9011


class ImageRejected(Exception):
    """The upload is not a photo we keep; `message` is shown to the user as it is."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ValidatedImage:
    image_format: str  # Pillow's name, a key of CONTENT_TYPES
    width: int  # after EXIF orientation
    height: int
    sha256: str
    file_size: int
    taken_at: datetime | None  # EXIF DateTimeOriginal, None when absent or implausible
    camera: str
    gps_latitude: float | None
    gps_longitude: float | None

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.image_format]


def clean_display_name(name: str) -> str:
    """The client's file name, made safe to store and show (it never reaches the disk)."""
    name = unicodedata.normalize("NFC", name or "")
    # Browsers send a base name, but nothing stops a client from sending a path.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = strip_invisible(name).strip()
    if len(name) > DISPLAY_NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: DISPLAY_NAME_MAX - len(extension) - 2] + "…." + extension
        else:
            name = name[: DISPLAY_NAME_MAX - 1] + "…"
    return name or "photo"


def check_file_name(name: str) -> None:
    """Refuse names that only make sense as an attack; the content decides everything else."""
    lowered = unicodedata.normalize("NFC", name or "").lower().replace("\\", "/").rsplit("/", 1)[-1]
    parts = lowered.split(".")[1:]
    for part in parts:
        # "a.php%00.jpg" and "a.php\x00.jpg": the part before the NUL is what an old server used.
        head = part.split("\x00", 1)[0].split("%00", 1)[0].strip()
        if head in SCRIPT_EXTENSIONS:
            raise ImageRejected(f"File names ending in .{head} are not accepted; photos only.")
    if parts:
        extension = parts[-1].strip()
        if extension and extension not in IMAGE_EXTENSIONS:
            raise ImageRejected(
                f"“.{extension[:20]}” is not a photo extension. Supported: JPEG, PNG, WebP, HEIC and TIFF."
            )


def validate_image(stream: IO[bytes], *, name: str = "", max_bytes: int, max_pixels: int) -> ValidatedImage:
    """Check an uploaded file and describe it; raises ImageRejected with a message for the user.

    `stream` must be seekable; it is left at position 0.
    """
    check_file_name(name)
    sha256, size = _digest(stream)
    if size == 0:
        raise ImageRejected("The file is empty.")
    if size > max_bytes:
        raise ImageRejected(f"The file is larger than the limit of {format_bytes(max_bytes)}.", status=413)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limit and twice that; we refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream, formats=ALLOWED_FORMATS) as image:
                image_format = _base_format(image)
                _check_pixels(image, max_pixels)
                if image_format == "TIFF":
                    _check_tiff(image)
                exif = image.getexif()
                width, height = image.size  # before draft() scales it
                _decode_fully(image)
    except ImageRejected:
        raise
    except Image.UnidentifiedImageError:
        raise ImageRejected(
            "This file is not a supported photo. Accepted formats, recognised by their content: "
            "JPEG, PNG, WebP, HEIC/HEIF and TIFF."
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(f"The image is too large: at most {max_pixels / 1e6:g} megapixels are accepted.") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        # Pillow reports damaged data with any of these, depending on the decoder.
        raise ImageRejected(f"The image is damaged or incomplete and cannot be read ({_short(exc)}).") from None
    finally:
        stream.seek(0)

    if _orientation(exif) in (5, 6, 7, 8):
        width, height = height, width
    latitude, longitude = _gps(exif)
    return ValidatedImage(
        image_format=image_format,
        width=width,
        height=height,
        sha256=sha256,
        file_size=size,
        taken_at=_taken_at(exif),
        camera=_camera(exif),
        gps_latitude=latitude,
        gps_longitude=longitude,
    )


def _base_format(image: Image.Image) -> str:
    """Pillow's format name, with MPO counted as the JPEG it is.

    MPO (multi-picture, written by many phones and 3D cameras) is a plain JPEG followed by
    more JPEGs: every JPEG reader shows its first picture, and that is the one we decode.
    Pillow names it "MPO"; stored under that name it got the ".bin" extension and was
    downloaded as application/octet-stream (issue 15 §7).
    """
    return "JPEG" if image.format == "MPO" else image.format


def format_bytes(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:g} {unit}" if unit == "bytes" else f"{size:.0f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _digest(stream: IO[bytes]) -> tuple[str, int]:
    stream.seek(0)
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    # Checked on the header, before a single pixel is decoded.
    if image.width < 1 or image.height < 1:
        raise ImageRejected("The image has no pixels.")
    if image.width * image.height > max_pixels:
        raise ImageRejected(
            f"The image is too large ({image.width}×{image.height}): at most "
            f"{max_pixels / 1e6:g} megapixels are accepted."
        )


def _check_tiff(image: Image.Image) -> None:
    if getattr(image, "n_frames", 1) != 1:
        raise ImageRejected("Multi-page TIFF files are not accepted; export the photo as JPEG or a single-page TIFF.")
    compression = image.info.get("compression", "raw")
    if compression not in SAFE_TIFF_COMPRESSIONS:
        raise ImageRejected(
            f"TIFF files compressed with {compression!r} are not accepted; use JPEG, PNG or an LZW TIFF."
        )


def _decode_fully(image: Image.Image) -> None:
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # a global that must never be on here
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; truncated photos would pass")
    if _base_format(image) == "JPEG":
        # The whole entropy-coded stream is still read and checked; only the inverse DCT runs
        # at 1/8 scale, which makes validating a 12 MP photo about three times cheaper.
        image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
    image.load()


def _orientation(exif: Image.Exif) -> int:
    value = exif.get(ORIENTATION_TAG)
    return value if isinstance(value, int) else 1


def clean_exif_text(value: object) -> str:
    """EXIF text is whatever the file says: bound it and drop control characters."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return ""
    return " ".join(strip_invisible(value).split())[:EXIF_TEXT_MAX]


def _camera(exif: Image.Exif) -> str:
    make = clean_exif_text(exif.get(MAKE_TAG))
    model = clean_exif_text(exif.get(MODEL_TAG))
    if make and model.lower().startswith(make.lower()):
        make = ""  # "Canon" + "Canon EOS 5D" says Canon twice
    return " ".join(part for part in (make, model) if part)[:EXIF_TEXT_MAX]


def _taken_at(exif: Image.Exif) -> datetime | None:
    try:
        sub = exif.get_ifd(EXIF_IFD)
    except (KeyError, ValueError, TypeError, OSError, SyntaxError):
        return None
    raw = clean_exif_text(sub.get(DATETIME_ORIGINAL_TAG))
    try:
        taken = datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = clean_exif_text(sub.get(OFFSET_TIME_ORIGINAL_TAG))
    tz = _parse_offset(offset)
    if tz is None:
        # No offset recorded: the camera's wall clock, read in the server's time zone.
        aware = django_timezone.make_aware(taken, django_timezone.get_default_timezone())
    else:
        aware = taken.replace(tzinfo=tz)
    if not (datetime(1826, 1, 1, tzinfo=UTC) <= aware <= datetime.now(UTC) + timedelta(days=2)):
        return None  # a clock never set, or set to the future: upload time is more truthful
    return aware


def _parse_offset(text: str) -> timezone | None:
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    try:
        gps = exif.get_ifd(GPS_IFD)
    except (KeyError, ValueError, TypeError, OSError, SyntaxError):
        return None, None
    latitude = _gps_coordinate(gps.get(2), gps.get(1), "N", "S", 90)
    longitude = _gps_coordinate(gps.get(4), gps.get(3), "E", "W", 180)
    if latitude is None or longitude is None:
        return None, None
    return latitude, longitude


def _gps_coordinate(value: object, ref: object, positive: str, negative: str, limit: float) -> float | None:
    try:
        degrees, minutes, seconds = (float(part) for part in value)  # type: ignore[union-attr]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = degrees + minutes / 60 + seconds / 3600
    ref_text = clean_exif_text(ref).upper()
    if ref_text == negative:
        result = -result
    elif ref_text not in ("", positive):
        return None
    if not (-limit <= result <= limit) or result != result:
        return None
    return round(result, 7)


def _short(exc: BaseException) -> str:
    return clean_exif_text(str(exc))[:120] or type(exc).__name__
