"""The wheel a user installs: it ships the BlazePose models, their licence, the prior and the
learned stages, and names no mediapipe; installed on its own it runs ``poselift estimate``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from poselift.detectors import blazepose

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
# what setuptools reads to build the wheel; whichever of them exist are copied
BUILD_INPUTS = ["pyproject.toml", "README.md", "setup.py", "setup.cfg", "MANIFEST.in", "src"]
SHIPPED = {
    "poselift/models/blazepose/pose_detection.tflite": blazepose.DETECTOR_SHA256,
    "poselift/models/blazepose/pose_landmark_full.tflite": blazepose.LANDMARK_SHA256,
}
ALSO_SHIPPED = [
    "poselift/models/blazepose/NOTICE.md",
    "poselift/models/blazepose/LICENSE",
    "poselift/models/h36m_prior.npz",
    "poselift/models/blazepose_stages.pt",
    "poselift/models/h36m_lifter.pt",
]


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """poselift's wheel, built with ``pip wheel . --no-deps --no-build-isolation``.

    It is built from a copy of the repository's build inputs rather than in place: setuptools
    would leave build/ and an egg-info in the working tree, and a stale build/lib from an earlier
    build would end up in the wheel and could hide a file that package-data no longer selects.
    """
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif path.is_file():
            shutil.copy2(path, source / name)
    out = tmp_path_factory.mktemp("wheel")
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-w", str(out)],
         cwd=source, env=env)
    (built,) = out.glob("poselift-*.whl")
    return built


def test_the_wheel_ships_the_blazepose_models_with_their_checksums(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for name, expected in SHIPPED.items():
            assert name in names, f"{name} is not in {wheel.name}"
            assert hashlib.sha256(archive.read(name)).hexdigest() == expected, name
        for name in ALSO_SHIPPED:
            assert name in names, f"{name} is not in {wheel.name}"
        notice = archive.read("poselift/models/blazepose/NOTICE.md").decode()
        licence = archive.read("poselift/models/blazepose/LICENSE").decode()
    assert "Apache License" in licence and "Version 2.0" in licence
    assert "mediapipe 0.10.14" in notice
    for expected in SHIPPED.values():
        assert expected in notice


def test_the_wheel_metadata_names_no_mediapipe_and_pins_nothing(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(name).decode())
    requires = metadata.get_all("Requires-Dist") or []
    assert requires, "the wheel declares no dependencies"
    assert not [r for r in requires if "mediapipe" in r.lower()]
    assert "blazepose" not in (metadata.get_all("Provides-Extra") or [])
    runtime = [r for r in requires if "extra ==" not in r]
    assert not [r for r in runtime if "==" in r], f"exact pins belong in constraints.txt: {runtime}"


def test_the_installed_wheel_estimates_a_photo(wheel, tmp_path):
    """The wheel alone (its files, not the source tree) finds and verifies its models and runs
    ``poselift estimate``; the dependencies are this environment's."""
    photo = REPO / "examples" / "astronaut.png"
    if not photo.is_file():
        pytest.skip(f"{photo} is missing")
    target = tmp_path / "site"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
         env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    script = (
        "import sys, poselift\n"
        "from poselift.cli import main\n"
        "from poselift.detectors.blazepose import model_paths\n"
        "print(poselift.__file__)\n"
        "print(*model_paths())\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target), "OMP_NUM_THREADS": "1"}
    result = _run([sys.executable, "-c", script, "estimate", str(photo), "--out", str(tmp_path / "out")],
                  cwd=tmp_path, env=env)
    module, paths = result.stdout.splitlines()[:2]
    assert Path(module).is_relative_to(target)  # not the source tree's poselift
    assert all(Path(p).is_relative_to(target) for p in paths.split())
    estimate = json.loads((tmp_path / "out" / "astronaut.json").read_text())
    assert estimate
