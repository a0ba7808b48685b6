"""Reading photos: formats, orientation, and every kind of bad file."""

import numpy as np
import pytest
from PIL import Image

from poselift.images import ImageError, list_images, read_image


@pytest.fixture
def picture():
    """A 40x60 RGB test card: distinct colours in each corner."""
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:20, :30] = (255, 0, 0)
    rgb[:20, 30:] = (0, 255, 0)
    rgb[20:, :30] = (0, 0, 255)
    rgb[20:, 30:] = (255, 255, 255)
    return rgb


def test_rgb_png_reads_back_exactly(picture, tmp_path):
    Image.fromarray(picture).save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png")
    assert out.dtype == np.uint8 and np.array_equal(out, picture)


def test_grayscale_becomes_three_equal_channels(photos):
    out = read_image(photos / "camera.png")
    assert out.shape == (512, 512, 3)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_sixteen_bit_is_scaled_by_its_range(tmp_path):
    gray16 = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000).astype(np.uint16)
    Image.fromarray(gray16).save(tmp_path / "g16.png")
    out = read_image(tmp_path / "g16.png")
    assert out.shape == (8, 8, 3)
    assert np.abs(out[..., 0].astype(int) - np.round(gray16 / 65535 * 255)).max() <= 1


def test_rgba_is_composited_on_black(picture, tmp_path):
    alpha = np.full(picture.shape[:2], 255, np.uint8)
    alpha[:, :10] = 0
    Image.fromarray(np.dstack([picture, alpha])).save(tmp_path / "rgba.png")
    out = read_image(tmp_path / "rgba.png")
    assert np.array_equal(out[:, 10:], picture[:, 10:]) and not out[:, :10].any()


def test_exif_orientation_is_applied(picture, tmp_path):
    # stored turned 90 degrees, with the EXIF tag that tells a viewer to turn it back
    stored = Image.fromarray(picture).transpose(Image.Transpose.ROTATE_90)  # counter-clockwise
    exif = stored.getexif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to view"
    stored.save(tmp_path / "turned.jpg", exif=exif, quality=100)
    out = read_image(tmp_path / "turned.jpg")
    assert out.shape == picture.shape
    assert np.abs(out.astype(int) - picture).mean() < 10  # JPEG noise only


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"not an image at all", "not a readable image")])
def test_bad_files_raise_image_error(tmp_path, content, message):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message):
        read_image(path)


def test_truncated_jpeg_raises(photos, tmp_path):
    data = (photos / "grace_hopper.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageError, match="truncated"):
        read_image(tmp_path / "cut.jpg")


def test_missing_file_raises(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path / "nope.png")


def test_list_images_expands_folders_and_keeps_named_files(picture, tmp_path):
    Image.fromarray(picture).save(tmp_path / "b.png")
    Image.fromarray(picture).save(tmp_path / "a.jpg")
    (tmp_path / "notes.txt").write_text("x")
    named = tmp_path / "odd.name"
    named.write_text("x")
    assert list_images([tmp_path, named]) == [tmp_path / "a.jpg", tmp_path / "b.png", named]


def test_list_images_rejects_an_empty_folder_and_a_missing_path(tmp_path):
    with pytest.raises(ImageError, match="holds no images"):
        list_images([tmp_path])
    with pytest.raises(ImageError, match="no such file or folder"):
        list_images([tmp_path / "missing"])
