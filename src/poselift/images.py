"""Reading photos: any common format, upright (EXIF), as 8-bit RGB, with clear errors."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

__all__ = ["ImageError", "Photo", "read_image", "read_photo", "list_images", "IMAGE_SUFFIXES", "MAX_PIXELS"]


_NOT_PHOTOS = {"MPEG", "EPS"}  # Pillow identifies these but cannot decode them (video; needs Ghostscript)


def _readable_suffixes() -> tuple[str, ...]:
    """File name endings of every format this Pillow can decode (AVIF and HEIF where it has
    them); stub formats, which Pillow recognises but leaves to a handler, are left out."""
    Image.init()
    decodable = {fmt for fmt, (factory, _accept) in Image.OPEN.items()
                 if not (isinstance(factory, type) and issubclass(factory, ImageFile.StubImageFile))}
    return tuple(sorted(ext for ext, fmt in Image.registered_extensions().items() if fmt in decodable - _NOT_PHOTOS))


IMAGE_SUFFIXES = _readable_suffixes()
"""The suffixes a folder scan takes (lower case, with the dot)."""

MAX_PIXELS = 2 * Image.MAX_IMAGE_PIXELS
"""Largest photo read, in pixels (about 179 million: Pillow's own limit against decompression
bombs); a 108-megapixel phone photo is read whole."""


class ImageError(ValueError):
    """A file that is not a readable image (missing, empty, truncated, unknown format)."""


def read_image(path: str | Path) -> np.ndarray:
    """The photo at ``path`` as an (H, W, 3) uint8 RGB array, turned upright.

    EXIF orientation is applied (the array is the photo as a viewer shows it, and every
    pixel coordinate poselift reports refers to it). Grayscale becomes three equal
    channels, alpha is composited onto black, 16- and 32-bit images are scaled to 8 bits
    by their type's range, palettes are expanded.

    Raises:
        ImageError: the file is missing, empty, truncated, or not an image.
    """
    return read_photo(path).pixels


@dataclass(frozen=True)
class Photo:
    """A photo as decoded, perhaps reduced.

    Attributes:
        pixels: (h, w, 3) uint8 RGB, upright.
        scale: pixels of the photo per pixel of ``pixels`` (1, or 2, 4, 8 for a JPEG decoded reduced).
        width, height: the upright photo's own size in pixels.
        focal_35mm: the camera's 35 mm-equivalent focal length from EXIF, or None.
    """

    pixels: np.ndarray
    scale: float
    width: int
    height: int
    focal_35mm: float | None = None


def read_photo(path: str | Path, longest: int | None = None) -> Photo:
    """Like :func:`read_image`; a JPEG more than twice ``longest`` pixels on its longer side is
    decoded reduced (by 2, 4 or 8, to no less than ``longest``), which takes a fraction of the
    memory and time of the whole photo.

    Raises:
        ImageError: as :func:`read_image`.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # up to MAX_PIXELS is read
            with Image.open(path) as image:
                full = image.size
                if longest and image.format == "JPEG" and max(full) > 2 * longest:
                    ratio = longest / max(full)
                    image.draft("RGB", (math.ceil(full[0] * ratio), math.ceil(full[1] * ratio)))
                image.load()  # decodes now: truncated data raises here, not later
                scale = float(round(max(full) / max(image.size)))
                focal_35mm = _focal_35mm(image)
                upright = _upright(image)
                turned = upright is not image and image.getexif().get(_ORIENTATION) in (5, 6, 7, 8)  # a quarter
                image = upright
    except UnidentifiedImageError as error:
        raise ImageError(f"{path}: not a readable image ({error})") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{path}: the image has more than {MAX_PIXELS / 1e6:.0f} million pixels, "
                         "more than poselift reads") from None
    except MemoryError:
        raise ImageError(f"{path}: not enough memory to decode the image") from None
    except Exception as error:  # decoders raise OSError, SyntaxError, struct.error, TypeError ... on corrupt data
        raise ImageError(f"{path}: cannot decode the image, it may be truncated or corrupt "
                         f"({type(error).__name__}: {error})") from None
    pixels = _to_rgb8(image, path)
    width, height = (full[1], full[0]) if turned else full
    return Photo(pixels, scale, int(width), int(height), focal_35mm)


_ORIENTATION = 0x0112  # the EXIF tag; values 5 to 8 turn the photo a quarter
_EXIF_IFD, _FOCAL_35MM = 0x8769, 0xA405  # the Exif sub-IFD and its FocalLengthIn35mmFilm tag


def _focal_35mm(image: Image.Image) -> float | None:
    """The photo's EXIF ``FocalLengthIn35mmFilm`` in mm, or None where absent, zero or unreadable."""
    try:
        value = float(image.getexif().get_ifd(_EXIF_IFD).get(_FOCAL_35MM, 0))
    except Exception:  # a damaged EXIF block (Pillow raises TypeError, struct.error, KeyError ...)
        return None
    return value if math.isfinite(value) and value > 0 else None


def _upright(image: Image.Image) -> Image.Image:
    """The image turned by its EXIF orientation; as stored where the EXIF block cannot be read."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a damaged EXIF block (Pillow raises TypeError, struct.error, KeyError ...)
        return image


def _to_rgb8(image: Image.Image, path: Path) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return _gray_to_rgb(np.asarray(image, dtype=np.float64) / 65535.0)
    if image.mode == "I":
        return _gray_to_rgb(np.asarray(image, dtype=np.float64) / (2.0**32 - 1) + 0.5)
    if image.mode == "F":
        pixels = np.asarray(image, dtype=np.float64)
        top = pixels.max() if pixels.size and pixels.max() > 1 else 1.0
        return _gray_to_rgb(pixels / top)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        rgba = np.asarray(image, dtype=np.float64)
        return np.round(rgba[..., :3] * rgba[..., 3:] / 255.0).astype(np.uint8)
    rgb = np.asarray(image.convert("RGB"))
    if rgb.ndim != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ImageError(f"{path}: the image has no pixels")
    return np.ascontiguousarray(rgb)


def _gray_to_rgb(unit: np.ndarray) -> np.ndarray:
    if unit.ndim == 3:  # multi-channel 16-bit (rare in PIL): keep the first three
        unit = unit[..., :3]
    gray = np.round(np.clip(unit, 0.0, 1.0) * 255.0).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2) if gray.ndim == 2 else gray


def list_images(paths: list[str | Path]) -> list[Path]:
    """Expand ``paths`` (files and folders) into image files, in a stable order.

    A folder contributes its files with an image suffix (not recursively); a file named
    explicitly is kept whatever its suffix, so that a bad one is reported, not skipped.

    Raises:
        ImageError: a path does not exist, or a folder holds no image files.
    """
    from .batch.inputs import files_and_folders

    return files_and_folders(paths, IMAGE_SUFFIXES, f"the folder holds no images (of the {len(IMAGE_SUFFIXES)} file "
                             "types poselift reads, such as .jpg, .png, .webp, .avif, .tif)", ImageError)
