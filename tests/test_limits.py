"""Memory stays bounded per photo: the bounds stated in docs/photo-pipeline.md, measured on extreme sizes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from poselift.images import read_image, read_photo

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "astronaut.png"
PHOTO_ADDS_MB = {"5000x1": 0, "60 MP": 300}
"""The bounds docs/photo-pipeline.md states on what a photo adds to the peak of the same command on
the bundled 512x512 photo (measured: nothing, and 160 MB)."""
PROGRAM_MB = 1000
"""The bound docs/photo-pipeline.md states on the peak of the bundled photo's run: the program's own
cost (torch, the compiled kernels, the models; measured 712 MB)."""

_MEASURE = ("import resource, subprocess, sys; status = subprocess.run(sys.argv[1:]).returncode; "
            "print(status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)")


def _peak_rss_mb(photo: Path, out: Path) -> tuple[int, int]:
    """Exit status and peak resident memory (MB) of ``poselift estimate photo`` in a process of its own."""
    result = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "poselift.cli", "estimate",
                             str(photo), "--out", str(out), "--quiet", "--overwrite"],
                            capture_output=True, text=True, check=True)
    status, megabytes = result.stdout.split()[-2:]
    return int(status), int(megabytes)


@pytest.fixture(scope="module")
def program_mb(tmp_path_factory):
    """Peak memory (MB) of ``poselift estimate`` on the bundled photo: run twice, so that the second
    run loads the compiled kernels from numba's cache instead of compiling them."""
    out = tmp_path_factory.mktemp("bundled")
    _peak_rss_mb(EXAMPLE, out)
    status, megabytes = _peak_rss_mb(EXAMPLE, out)
    assert status == 0 and megabytes < PROGRAM_MB
    return megabytes


@pytest.mark.slow
def test_a_5000x1_photo_is_drawn_on_a_bounded_canvas(program_mb, tmp_path):
    photo = tmp_path / "wide.png"
    Image.new("RGB", (5000, 1), (90, 90, 90)).save(photo)
    status, megabytes = _peak_rss_mb(photo, tmp_path / "out")
    assert status == 1 and megabytes < program_mb + PHOTO_ADDS_MB["5000x1"]  # nobody in it: status 1
    assert Image.open(tmp_path / "out" / "wide.png").size[0] < 2000
    assert (tmp_path / "out" / "wide.json").is_file()


@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory):
    """A 60-megapixel JPEG (the astronaut, 9000x6700)."""
    photo = tmp_path_factory.mktemp("big") / "big.jpg"
    cv2.imwrite(str(photo), cv2.resize(cv2.imread(str(EXAMPLE)), (9000, 6700)), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return photo


@pytest.mark.slow
def test_a_60_megapixel_photo_stays_under_its_memory_bound(program_mb, big_jpeg, tmp_path):
    status, megabytes = _peak_rss_mb(big_jpeg, tmp_path / "out")
    assert status == 0 and megabytes < program_mb + PHOTO_ADDS_MB["60 MP"]
    image = json.loads((tmp_path / "out" / "big.json").read_text())["image"]
    assert (image["width"], image["height"]) == (9000, 6700)  # in the photo's own pixels, though decoded reduced


@pytest.mark.slow
def test_a_large_jpeg_is_decoded_reduced_and_in_register_with_the_whole(big_jpeg):
    reduced = read_photo(big_jpeg, longest=1920)
    assert reduced.scale == 4.0 and reduced.pixels.shape == (1675, 2250, 3)
    assert (reduced.width, reduced.height) == (9000, 6700)
    whole = cv2.resize(read_image(big_jpeg), (2250, 1675), interpolation=cv2.INTER_AREA)
    gray = [cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) for image in (whole, reduced.pixels)]
    (dx, dy), _ = cv2.phaseCorrelate(*gray)
    assert abs(dx) < 0.05 and abs(dy) < 0.05  # measured 0.002 px: coordinates scale by 4 exactly
    assert read_photo(EXAMPLE, longest=1920).scale == 1.0


def test_a_reduced_decode_reports_the_photo_s_own_size_even_when_nearly_square(tmp_path):
    plain, turned = tmp_path / "square.jpg", tmp_path / "turned.jpg"
    Image.new("RGB", (4001, 4002)).save(plain)
    image = Image.new("RGB", (4001, 4002))
    exif = image.getexif()
    exif[0x0112] = 6  # a quarter turn
    image.save(turned, exif=exif)
    reduced = read_photo(plain, longest=1000)
    assert reduced.pixels.shape == (1001, 1001, 3) and (reduced.width, reduced.height) == (4001, 4002)
    assert (read_photo(turned, longest=1000).width, read_photo(turned, longest=1000).height) == (4002, 4001)
