"""Memory stays bounded per photo: the bounds stated in docs/photo-pipeline.md, measured on extreme sizes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from PIL import Image

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "astronaut.png"
PEAK_RSS_LIMIT_MB = {"5000x1": 600, "60 MP": 1500}
"""The bounds docs/photo-pipeline.md states (measured: 210 MB and 980 MB)."""

_MEASURE = ("import resource, subprocess, sys; status = subprocess.run(sys.argv[1:]).returncode; "
            "print(status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)")


def _peak_rss_mb(photo: Path, out: Path) -> tuple[int, int]:
    """Exit status and peak resident memory (MB) of ``poselift estimate photo`` in a process of its own."""
    result = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "poselift.cli", "estimate",
                             str(photo), "--out", str(out), "--quiet"], capture_output=True, text=True, check=True)
    status, megabytes = result.stdout.split()[-2:]
    return int(status), int(megabytes)


@pytest.mark.slow
def test_a_5000x1_photo_is_drawn_on_a_bounded_canvas(tmp_path):
    photo = tmp_path / "wide.png"
    Image.new("RGB", (5000, 1), (90, 90, 90)).save(photo)
    status, megabytes = _peak_rss_mb(photo, tmp_path / "out")
    assert status == 1 and megabytes < PEAK_RSS_LIMIT_MB["5000x1"]  # nobody in it: status 1, as for any photo
    assert Image.open(tmp_path / "out" / "wide.png").size[0] < 2000
    assert (tmp_path / "out" / "wide.json").is_file()


@pytest.mark.slow
def test_a_60_megapixel_photo_stays_under_its_memory_bound(tmp_path):
    photo = tmp_path / "big.jpg"
    cv2.imwrite(str(photo), cv2.resize(cv2.imread(str(EXAMPLE)), (9000, 6700)), [cv2.IMWRITE_JPEG_QUALITY, 90])
    status, megabytes = _peak_rss_mb(photo, tmp_path / "out")
    assert status == 0 and megabytes < PEAK_RSS_LIMIT_MB["60 MP"]
