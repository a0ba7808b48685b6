"""Options and model metadata out of range are refused at the edge, before any work, with a clear message."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from poselift.cli import main
from poselift.prior import PosePrior
from poselift.prior.model import HEIGHT_RANGE_MM


@pytest.fixture
def keypoints(tmp_path):
    path = tmp_path / "points.npy"
    np.save(path, np.random.default_rng(0).uniform(100, 400, (3, 17, 2)))
    return path


@pytest.mark.parametrize("option, value, message", [
    ("--height-mm", "inf", "must be a finite number, got inf"),
    ("--height-mm", "nan", "must be a finite number, got nan"),
    ("--approximate-weight", "1e6", r"must lie in \[0, 1\], got 1e6"),
    ("--approximate-weight", "-0.5", r"must lie in \[0, 1\], got -0.5"),
    ("--angles", "100000000", "must be a whole number from 1 to 3600, got 100000000"),
    ("--focal-px", "inf", "must be a finite number, got inf"),
])
def test_lift_refuses_options_out_of_range_as_a_command_line_error(keypoints, tmp_path, capsys, option, value,
                                                                   message):
    with pytest.raises(SystemExit) as exit_:
        main(["lift", str(keypoints), "--format", "npy", option, value, "--out", str(tmp_path / "out.json")])
    assert exit_.value.code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("option", [["--hypotheses", "3"], ["--height-mm", "1700"], ["--prior", "p.npz"]])
def test_what_only_the_prior_s_search_gives_asked_of_the_default_lifter_names_the_flag(keypoints, tmp_path, capsys,
                                                                                         option):
    assert main(["lift", str(keypoints), "--format", "npy", *option, "--out", str(tmp_path / "out.json")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("poselift: ") and "--lifter " in error and "combined" in error
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("height", ["1e-300", "1e308", "-5", "0"])
def test_an_impossible_height_fails_before_any_work(keypoints, tmp_path, capsys, height):
    assert main(["lift", str(keypoints), "--format", "npy", "--lifter", "combined", "--height-mm", height, "--out",
                 str(tmp_path / "out.json")]) == 1
    low, high = HEIGHT_RANGE_MM
    assert f"poselift: height must lie in [{low:.0f}, {high:.0f}] mm, got" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("option, value", [("--fusion-weight", "1.5"), ("--rounds", "-1"), ("--rounds", "1000"),
                                           ("--height-mm", "nan")])
def test_estimate_refuses_bad_options_before_reading_any_photo(tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exit_:
        main(["estimate", str(tmp_path / "absent.jpg"), option, value, "--out", str(tmp_path / "out")])
    assert exit_.value.code == 2 and option in capsys.readouterr().err


def test_the_estimator_refuses_an_impossible_height():
    from poselift.estimator import Estimator

    with pytest.raises(ValueError, match=r"height must lie in \[300, 3000\] mm, got 5"):
        Estimator(height_mm=5.0)


@pytest.mark.parametrize("size", [-1147.0, 0.0, 1e300, "1147", True, None])
def test_a_prior_whose_header_has_an_impossible_size_is_refused(tmp_path, size):
    path = tmp_path / "prior.npz"
    PosePrior.default().save(path)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(str(arrays.pop("header")))
    header["size_mm"] = size
    np.savez(path, header=np.array(json.dumps(header)), **arrays)
    with pytest.raises(ValueError, match="the header's size_mm must be a positive number of millimetres"):
        PosePrior.load(path)
