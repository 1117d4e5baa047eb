"""gallery.validation: what is a photo we keep, decided from the bytes."""

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from gallery.tests import images
from gallery.validation import ImageRejected, check_file_name, clean_display_name, validate_image

LIMITS = {"max_bytes": 10_000_000, "max_pixels": 60_000_000}


def validate(data: bytes, name: str = "x.jpg", **limits):
    return validate_image(io.BytesIO(data), name=name, **{**LIMITS, **limits})


def test_it_describes_a_jpeg():
    info = validate(images.jpeg_bytes(64, 48))
    assert (info.image_format, info.width, info.height, info.content_type) == ("JPEG", 64, 48, "image/jpeg")
    assert len(info.sha256) == 64 and info.file_size > 0
    assert info.taken_at is None and info.gps_latitude is None


@pytest.mark.parametrize("image_format", ["PNG", "WEBP", "TIFF"])
def test_it_accepts_the_other_formats(image_format):
    info = validate(images.encode(Image.new("RGB", (30, 20), "red"), image_format), name="x")
    assert (info.image_format, info.width, info.height) == (image_format, 30, 20)


def test_it_accepts_heic():
    import pillow_heif

    data = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 64), "blue")).save(data, quality=80)
    assert validate(data.getvalue(), name="x.heic").image_format == "HEIF"


def test_the_format_comes_from_the_content_not_the_name():
    assert validate(images.encode(Image.new("RGB", (8, 8)), "PNG"), name="really.jpg").image_format == "PNG"


def test_it_reads_exif_date_camera_and_gps():
    info = validate(images.jpeg_bytes(exif=images.gps_exif()))
    assert info.taken_at == datetime(2019, 7, 14, 8, 30, tzinfo=UTC)
    assert info.camera == "Canon EOS 5D"
    assert info.gps_latitude == pytest.approx(48.858333, abs=1e-5)
    assert info.gps_longitude == pytest.approx(2.294444, abs=1e-5)


def test_it_ignores_an_implausible_exif_date():
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2999:01:01 00:00:00"
    assert validate(images.jpeg_bytes(exif=exif)).taken_at is None


def test_it_swaps_width_and_height_for_rotated_photos():
    exif = Image.Exif()
    exif[0x0112] = 6
    info = validate(images.jpeg_bytes(64, 48, exif=exif))
    assert (info.width, info.height) == (48, 64)


def test_exif_text_loses_control_characters_and_is_bounded():
    exif = Image.Exif()
    exif[0x010F] = "Evil\x00\x1b[31m\u202e" + "x" * 500
    info = validate(images.jpeg_bytes(exif=exif))
    assert "\x00" not in info.camera and "\u202e" not in info.camera and len(info.camera) <= 200


def test_it_rejects_a_truncated_jpeg():
    data = images.jpeg_bytes(400, 300)
    with pytest.raises(ImageRejected, match="damaged or incomplete"):
        validate(data[: len(data) // 2])


def test_it_rejects_a_multi_page_tiff():
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    data = io.BytesIO()
    frames[0].save(data, "TIFF", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageRejected, match="Multi-page TIFF"):
        validate(data.getvalue(), name="x.tif")


def test_it_rejects_pixels_over_the_cap_before_decoding():
    with pytest.raises(ImageRejected, match="too large"):
        validate(images.png_header_only(10_000, 10_000), name="x.png")


@pytest.mark.parametrize(
    "name, display",
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("..\\..\\x.jpg", "x.jpg"),
        ("/abs/x.jpg", "x.jpg"),
        ("a\x00b.jpg", "ab.jpg"),
        ("\u202egpj.exe", "gpj.exe"),
        ("a\u200bb\u2060c\ufeff.jpg", "abc.jpg"),
        ("\U0001f469\u200d\U0001f467.jpg", "\U0001f469\u200d\U0001f467.jpg"),
        ("Cafe\u0301.jpg", "Café.jpg"),
        ("", "photo"),
    ],
)
def test_display_names_are_cleaned(name, display):
    assert clean_display_name(name) == display


def test_long_display_names_keep_their_extension():
    cleaned = clean_display_name("a" * 300 + ".jpeg")
    assert len(cleaned) <= 255 and cleaned.endswith(".jpeg")


@pytest.mark.parametrize("name", ["x.html", "x.php", "x.jpg.php", "a.php%00.jpg", "a.php\x00.jpg", "x.svg", "x.pdf"])
def test_script_and_foreign_extensions_are_refused(name):
    with pytest.raises(ImageRejected):
        check_file_name(name)


@pytest.mark.parametrize("name", ["IMG_0001.JPG", "x.heic", "scan.tiff", "no-extension", "my.holiday.png"])
def test_photo_names_pass(name):
    check_file_name(name)
