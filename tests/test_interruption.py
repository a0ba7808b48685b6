"""SIGINT and SIGTERM at random moments of a folder run: each photo's outputs complete or absent,
no temporary file left, the exit status says so; a rerun completes the rest."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from poselift.cli import Terminated, _terminate
from poselift.files import interruptions_held

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "astronaut.png"
PHOTOS = 8


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(PHOTOS):
        shutil.copy(EXAMPLE, folder / f"p{i}.png")
    return folder


def _estimate(folder: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "poselift.cli", "estimate", str(folder), "--out", str(out),
                             "--save-rounds", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finished(out: Path) -> set[str]:
    """The photos whose outputs are all there and valid; fails on any partial output or temporary file."""
    names = {p.name for p in out.iterdir()} if out.exists() else set()
    assert not [n for n in names if n.endswith(".tmp")], names
    done = {n[:-len(".json")] for n in names if n.endswith(".json")}
    for stem in done:
        assert json.loads((out / f"{stem}.json").read_text())["people"]
        assert (out / f"{stem}.png").stat().st_size > 0 and (out / f"{stem}_rounds.png").stat().st_size > 0
    assert names == {f"{stem}{suffix}" for stem in done for suffix in (".json", ".png", "_rounds.png")}, names
    return done


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_leaves_only_complete_outputs_and_a_rerun_completes_them(tmp_path, signum, status):
    folder, out = _folder(tmp_path), tmp_path / "out"
    started = time.perf_counter()
    whole = _estimate(folder, tmp_path / "whole")
    whole.communicate(timeout=300)
    seconds = time.perf_counter() - started
    assert len(_finished(tmp_path / "whole")) == PHOTOS
    for delay in np.random.default_rng(int(signum)).uniform(0.3, 0.9, 3) * seconds:  # start-up to the last photo
        run = _estimate(folder, out)
        time.sleep(delay)
        run.send_signal(signum)
        stdout, stderr = run.communicate(timeout=300)
        done = _finished(out)
        assert run.returncode in (status, 0, -signum), stderr  # 0: the run ended before the signal came
        if run.returncode == -signum:  # it came in the last second, after main returned: Python has
            assert not stderr and len(done) == PHOTOS  # given its handlers back while it shuts down
        if run.returncode == status:
            assert "Traceback" not in stderr and stderr.strip().endswith("interrupted" if status == 130 else
                                                                          "terminated")
            wrote = [line for line in stdout.splitlines() if line.startswith("wrote ")]  # not "skipping ..."
            assert {line.split()[1] for line in wrote} <= {str(out / f"{s}.json") for s in done}
    rerun = _estimate(folder, out)
    rerun.communicate(timeout=300)
    assert rerun.returncode == 0 and len(_finished(out)) == PHOTOS


@pytest.mark.parametrize("signum, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)])
def test_a_signal_while_interruptions_are_held_comes_after_the_block(signum, raised):
    previous = signal.signal(signal.SIGTERM, _terminate), signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        done = []
        with pytest.raises(raised):
            with interruptions_held():
                signal.raise_signal(signum)
                done.append("first")
                done.append("second")
            done.append("after")
        assert done == ["first", "second"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.getsignal(signal.SIGTERM) is _terminate
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
