"""``poselift train`` from the command line: a tiny cpm run on real photos, and bad input."""

import json

import pytest

from helpers import lsp_folder
from poselift.cli import main


@pytest.fixture(scope="module")
def tiny_data(data_dir, tmp_path_factory):
    """A data folder of four LSP photos (two held out: im0801, im0802) and two LSP-extended ones."""
    root = tmp_path_factory.mktemp("data")
    lsp_folder(data_dir, root, "lsp", first=798, count=4)
    lsp_folder(data_dir, root, "lspet", first=0, count=2)
    return root


TINY = ["--width", "4", "--stages", "2", "--input-size", "64", "--batch-size", "2", "--quiet"]


@pytest.mark.slow
def test_a_tiny_cpm_run_writes_weights_log_and_held_out_figures(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--config", "cpm", "--data", str(tiny_data), "--out", str(out), "--epochs", "2",
                 "--optimizer", "adam", "--lr", "1e-3", *TINY]) == 0
    result = json.loads((out / "evaluation.json").read_text())
    assert result["examples"] == 2 and len(result["pck"]) == 2 and result["settings"]["config"] == "cpm"
    assert len((out / "log.jsonl").read_text().splitlines()) == 2 and (out / "stages.pt").is_file()
    assert "held-out LSP im0801-im1000 (2 people)" in capsys.readouterr().out


@pytest.mark.slow
def test_loader_processes_see_the_same_augmented_crops(tiny_data, tmp_path):
    """Augmentation is drawn from (seed, epoch, example): 0 or 2 loader processes train the
    same weights."""
    import torch

    for workers in ("0", "2"):
        assert main(["train", "--config", "cpm", "--data", str(tiny_data), "--out", str(tmp_path / workers),
                     "--epochs", "2", "--optimizer", "adam", "--workers", workers, *TINY]) == 0
    first, second = (torch.load(tmp_path / w / "stages.pt", weights_only=False)["model"] for w in ("0", "2"))
    assert all(torch.equal(first[name], second[name]) for name in first)


@pytest.mark.parametrize("extra, message", [
    (["--workers", "-1"], "--workers"),
    (["--device", "cuda"], "no GPU"),
    (["--input-size", "100"], "multiple of 8"),
    (["--stages", "1"], "at least 2"),
])
def test_bad_training_options_fail_clearly(tiny_data, tmp_path, capsys, extra, message):
    import torch

    if "cuda" in extra and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    status = main(["train", "--config", "cpm", "--data", str(tiny_data), "--out", str(tmp_path / "run"),
                   *TINY, *extra])
    assert status == 1 and message in capsys.readouterr().err


def test_missing_data_or_a_file_as_output_fail_clearly(tiny_data, tmp_path, capsys):
    status = main(["train", "--config", "cpm", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run"),
                   *TINY])
    assert status == 1 and "no .jpg images" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    status = main(["train", "--config", "cpm", "--data", str(tiny_data), "--out", str(tmp_path / "file"), *TINY])
    assert status == 1 and "not a folder" in capsys.readouterr().err
