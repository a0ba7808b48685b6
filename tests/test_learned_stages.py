"""The photo pipeline with learned stages: plumbing, the shipped weights, and bad files."""

from dataclasses import asdict

import numpy as np
import pytest
import torch

from poselift.cli import main
from poselift.estimator import Estimator
from poselift.nn.models import SHIPPED_STAGES_PATH
from poselift.skeleton import LSP14
from poselift.training import BlazePoseStages, CpmNetwork, TrainSettings


def _save(model, settings, path, joint_set=None):
    torch.save({"settings": asdict(settings), "joint_set": joint_set, "model": model.state_dict(), "log": []}, path)
    return path


@pytest.mark.slow
def test_untrained_residual_stages_without_lifting_change_nothing(estimator, photos, small_prior, tmp_path):
    """An untrained residual stage passes its input through, so the pipeline's joints stay put:
    this checks that patch and maps reach the stages and come back in the right layout."""
    settings = TrainSettings(lifting="off", width=4, kernel=3, depth=1)
    path = _save(BlazePoseStages(small_prior.prior, settings), settings, tmp_path / "stages.pt")
    plain = Estimator(small_prior.prior).estimate(photos / "astronaut.png")
    staged = Estimator(small_prior.prior, learned_stages=path).estimate(photos / "astronaut.png")
    assert len(plain) == len(staged) == 1
    assert np.allclose(plain[0].joints_2d, staged[0].joints_2d, atol=1e-3)


@pytest.mark.slow
def test_the_shipped_stages_load_and_keep_the_astronaut_in_place(estimator, photos):
    assert SHIPPED_STAGES_PATH.is_file() and SHIPPED_STAGES_PATH.stat().st_size < 2_000_000
    plain = estimator.estimate(photos / "astronaut.png")[0]
    learned = Estimator(learned_stages=True)
    staged = learned.estimate(photos / "astronaut.png")[0]
    assert learned.learned_path == str(SHIPPED_STAGES_PATH)
    detected = np.array([s == "detected" for s in staged.source])
    # measured: median 3.1 px, at most 14 px (left hip) in this 512-pixel photo; the nose stays (1.6 px)
    assert np.median(np.linalg.norm(staged.joints_2d - plain.joints_2d, axis=1)[detected]) < 5


def test_a_cpm_network_or_a_bad_file_is_refused(small_prior, tmp_path):
    settings = TrainSettings.defaults("cpm", width=4, stages=2, input_size=64)
    cpm = _save(CpmNetwork(small_prior.prior, settings, LSP14), settings, tmp_path / "cpm.pt", "lsp14")
    with pytest.raises(ValueError, match="on top of BlazePose"):
        Estimator(small_prior.prior, learned_stages=cpm)
    (tmp_path / "bad.pt").write_bytes(b"not torch")
    with pytest.raises(ValueError, match="not a poselift stages file"):
        Estimator(small_prior.prior, learned_stages=tmp_path / "bad.pt")
    with pytest.raises(FileNotFoundError, match="no such stages file"):
        Estimator(small_prior.prior, learned_stages=tmp_path / "missing.pt")


@pytest.mark.slow
def test_estimate_with_learned_stages_from_the_command_line(estimator, photos, tmp_path, capsys):
    import json

    out = tmp_path / "out"
    assert main(["estimate", str(photos / "astronaut.png"), "--out", str(out), "--learned-stages", "--quiet"]) == 0
    settings = json.loads((out / "astronaut.json").read_text())["settings"]
    assert settings["learned_stages"] == str(SHIPPED_STAGES_PATH)
    status = main(["estimate", str(photos / "astronaut.png"), "--out", str(out), "--learned-stages",
                   str(tmp_path / "missing.pt"), "--quiet"])
    assert status == 1 and "no such stages file" in capsys.readouterr().err
