import shutil

import numpy as np
import pytest

from poselift.cli import main
from poselift.prior import PosePrior


@pytest.fixture(scope="module")
def mocap_folder(data_dir, tmp_path_factory):
    """Three CMU clips, two formats: a BVH and an ASF/AMC pair."""
    folder = tmp_path_factory.mktemp("mocap")
    shutil.copy(data_dir / "cmu" / "bvh_walk" / "16_15.bvh", folder)
    for name in ("03.asf", "03_01.amc", "03_02.amc"):
        shutil.copy(data_dir / "cmu" / "asf_amc" / "03" / name, folder)
    return folder


def test_train_prior_from_cmu_mocap_writes_a_loadable_prior(mocap_folder, tmp_path, capsys):
    out = tmp_path / "cmu_prior.npz"
    status = main(["train-prior", "--mocap", str(mocap_folder), "--components", "2", "--basis", "5",
                   "--step", "4", "--quiet", "--out", str(out)])
    assert status == 0
    prior = PosePrior.load(out)
    assert prior.n_basis == 5 and "3 clips" in prior.metadata["training_data"]
    assert "wrote" in capsys.readouterr().out


def test_train_prior_into_a_missing_folder_fails_before_fitting(mocap_folder, tmp_path, capsys):
    status = main(["train-prior", "--mocap", str(mocap_folder), "--out", str(tmp_path / "nope" / "p.npz")])
    assert status == 1
    assert "output folder does not exist" in capsys.readouterr().err


def test_train_prior_from_an_empty_folder_fails_clearly(tmp_path, capsys):
    status = main(["train-prior", "--mocap", str(tmp_path), "--out", str(tmp_path / "p.npz")])
    assert status == 1
    assert "no .bvh or .amc files" in capsys.readouterr().err
    assert not (tmp_path / "p.npz").exists()


def test_show_prior_writes_a_png(tmp_path):
    out = tmp_path / "prior.png"
    assert main(["show-prior", "--samples", "2", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_show_prior_with_a_corrupt_prior_fails_clearly(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"\x00" * 64)
    assert main(["show-prior", "--prior", str(bad), "--out", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("poselift: ") and "not a poselift prior file" in err
    assert "Traceback" not in err


def test_bad_command_line_exits_with_status_2():
    with pytest.raises(SystemExit) as info:
        main(["train-prior", "--components", "0", "--out", "x.npz"])
    assert info.value.code == 2
