"""Weights and checkpoint files are read without unpickling code: a file carrying code is refused, not run."""

from __future__ import annotations

import pathlib

import pytest
import torch

from poselift.cli import main
from poselift.nn.models import SHIPPED_STAGES_PATH, load_stages
from poselift.prior import PosePrior

MARKER = "pwned"


class _RunsCode:
    """Unpickling this calls ``Path.touch`` on a marker file: what a malicious pickle would do."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def _file_carrying_code(path: pathlib.Path, marker: pathlib.Path) -> pathlib.Path:
    state = torch.load(SHIPPED_STAGES_PATH, weights_only=True)
    state["settings"] = _RunsCode(marker)  # the rest is a real stages file
    torch.save(state, path)
    return path


def test_a_stages_file_carrying_code_is_refused_and_the_code_never_runs(tmp_path):
    marker = tmp_path / MARKER
    evil = _file_carrying_code(tmp_path / "stages.pt", marker)
    with pytest.raises(ValueError, match="not a poselift stages file, or one carrying code"):
        load_stages(evil, PosePrior.default())
    assert not marker.exists()


def test_the_command_line_refuses_such_stages_with_a_clear_error(tmp_path, capsys):
    marker = tmp_path / MARKER
    evil = _file_carrying_code(tmp_path / "stages.pt", marker)
    photo = pathlib.Path(__file__).resolve().parents[1] / "examples" / "astronaut.png"
    assert main(["estimate", str(photo), "--learned-stages", str(evil), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    assert "carrying code" in capsys.readouterr().err
    assert not marker.exists() and not list((tmp_path / "out").glob("*"))


def test_a_checkpoint_carrying_code_is_refused_on_resume(tmp_path):
    from poselift.nn.settings import TrainSettings
    from poselift.training import train

    marker = tmp_path / MARKER
    _file_carrying_code(tmp_path / "checkpoint.pt", marker)
    with pytest.raises(ValueError, match="not a poselift checkpoint file, or one carrying code"):
        train(None, PosePrior.default(), TrainSettings(), tmp_path, resume=True, progress=False)
    assert not marker.exists()


def test_a_foreign_file_is_refused_as_not_a_stages_file(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("not a torch file")
    with pytest.raises(ValueError, match="not a poselift stages file"):
        load_stages(text, PosePrior.default())
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(ValueError, match="not a poselift stages file .holds a Tensor"):
        load_stages(tensor, PosePrior.default())
