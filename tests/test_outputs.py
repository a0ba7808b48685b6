"""Outputs never overwrite an input, each other, or anything but a regular file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from poselift.cli import main
from poselift.estimate_output import output_names
from poselift.files import write_json

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "astronaut.png"


def _names(files, out_dir="out"):
    return [tuple(p.name for p in outputs.paths()) for outputs in output_names([Path(f) for f in files], Path(out_dir))]


def test_each_photo_gets_its_own_outputs_named_by_its_stem():
    assert _names(["a/p.jpg", "b/q.png"]) == [("p.json", "p.png", "p_rounds.png"), ("q.json", "q.png", "q_rounds.png")]


def test_photos_of_one_stem_keep_their_extension_and_same_names_get_a_number():
    assert _names(["x.jpg", "x.png", "x-2.png", "a/y.png", "b/y.png"]) == [
        ("x.jpg.json", "x.jpg.png", "x.jpg_rounds.png"), ("x.png.json", "x.png.png", "x.png_rounds.png"),
        ("x-2.json", "x-2.png", "x-2_rounds.png"), ("y.json", "y.png", "y_rounds.png"),
        ("y-2.json", "y-2.png", "y-2_rounds.png")]


def test_no_output_is_an_input_photo():
    """In the photos' own folder ``p.png``'s figure would be ``p.png`` itself, and ``p_rounds.png``
    another photo: both outputs move aside."""
    assert _names(["d/p.png", "d/p_rounds.png"], "d") == [
        ("p-2.json", "p-2.png", "p-2_rounds.png"), ("p_rounds-2.json", "p_rounds-2.png", "p_rounds-2_rounds.png")]


def test_output_names_are_distinct_whatever_the_names():
    rng = np.random.default_rng(0)
    stems = ["x", "x-2", "x_rounds", "x.png", "y"]
    files = [f"{rng.choice(['a', 'b'])}/{rng.choice(stems)}{rng.choice(['.png', '.jpg'])}" for _ in range(40)]
    files = list(dict.fromkeys(files))  # a photo is listed once
    every = [name for outputs in _names(files, "a") for name in outputs]
    assert len(every) == len(set(every))
    assert not {Path(f).name for f in files if f.startswith("a/")} & set(every)


@pytest.mark.slow
def test_estimating_into_the_photos_folder_keeps_the_photo(tmp_path, monkeypatch, capsys):
    photo = tmp_path / "photo.png"
    photo.write_bytes(EXAMPLE.read_bytes())
    monkeypatch.chdir(tmp_path)
    assert main(["estimate", "photo.png", "--out", ".", "--quiet"]) == 0
    assert photo.read_bytes() == EXAMPLE.read_bytes()
    assert json.loads((tmp_path / "photo-2.json").read_text())["people"]
    assert "wrote photo-2.json and photo-2.png" in capsys.readouterr().out


@pytest.mark.slow
def test_photos_differing_only_in_extension_or_suffix_keep_every_result(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("x.jpg", "x.png", "x-2.png"):
        (folder / name).write_bytes(EXAMPLE.read_bytes())  # a PNG named .jpg still reads
    out = tmp_path / "out"
    assert main(["estimate", str(folder), "--out", str(out), "--save-rounds", "--quiet"]) == 0
    printed = capsys.readouterr().out.splitlines()
    written = [line for line in printed if line.startswith("wrote ")]
    assert len(written) == len(set(written)) == 3 and printed[-1] == "3 input(s): 3 ok, 0 nobody, 0 failed, 0 skipped"
    images = {json.loads(path.read_text())["image"]["path"] for path in out.glob("*.json")}
    assert images == {str(folder / name) for name in ("x.jpg", "x.png", "x-2.png")}
    assert len(list(out.glob("*_rounds.png"))) == 3


def test_only_regular_files_are_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="exists and is not a regular file"):
        write_json(fifo, {"a": 1})
    assert stat.S_ISFIFO(fifo.stat().st_mode) and list(tmp_path.iterdir()) == [fifo]
    with pytest.raises(OSError, match="exists and is not a regular file"):
        write_json(tmp_path, {"a": 1})


def test_lift_onto_a_device_or_pipe_is_refused(tmp_path, capsys):
    points = tmp_path / "points.npy"
    np.save(points, np.random.default_rng(0).uniform(0, 100, (2, 17, 2)))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert main(["lift", str(points), "--format", "npy", "--out", str(fifo), "--quiet"]) == 1
    assert "exists and is not a regular file" in capsys.readouterr().err
    assert stat.S_ISFIFO(fifo.stat().st_mode)
