"""Runs over many inputs: local Dask clusters, resuming, the summary, and faults (a killed worker,
corrupt inputs, outputs that cannot be written, Ctrl-C)."""

from __future__ import annotations

import errno
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from poselift.batch.engine import Cluster
from poselift.batch.inputs import expand_inputs, read_list
from poselift.batch.summary import Row, totals_line, write_summary
from poselift.cli import main
from poselift.files import OutputError, write_atomically
from poselift.images import list_images

POSELIFT = [sys.executable, "-m", "poselift.cli"]


@pytest.fixture(scope="module")
def photos(data_dir, tmp_path_factory):
    """Six LSP photos and one corrupt file."""
    folder = tmp_path_factory.mktemp("photos")
    for k in range(1, 7):
        shutil.copy(data_dir / "lsp" / "images" / f"im{k:04d}.jpg", folder)
    (folder / "broken.jpg").write_bytes(b"not a photo")
    return folder


def read_rows(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    return [json.loads(line) for line in path.read_text().splitlines()]


def outputs_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_inputs_come_from_files_folders_patterns_and_lists_each_once(tmp_path):
    (tmp_path / "a" / "deep").mkdir(parents=True)
    for name in ("a/1.png", "a/2.jpg", "a/deep/3.png", "b.png"):
        (tmp_path / name).write_bytes(b"")
    listing = tmp_path / "list.txt"
    listing.write_text(f"# photos\n{tmp_path / 'b.png'}\n\n{tmp_path / 'a' / '1.png'}\n")
    found = expand_inputs([str(tmp_path / "**" / "*.png"), str(tmp_path / "a")], list_images, str(listing))
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a/1.png", "a/deep/3.png", "b.png", "a/2.jpg"]
    assert read_list(listing) == [str(tmp_path / "b.png"), str(tmp_path / "a" / "1.png")]
    with pytest.raises(FileNotFoundError, match="matches no file"):
        expand_inputs([str(tmp_path / "*.gif")], list_images)
    with pytest.raises(ValueError, match="no inputs"):
        expand_inputs([], list_images)


def test_the_summary_reads_back_as_parquet_and_json_lines(tmp_path):
    rows = [Row("a.jpg", "ok", 2, 0.5, None, "local"), Row("b.jpg", "failed", None, 0.1, "corrupt", "tcp://x:1")]
    for name in ("s.parquet", "s.jsonl"):
        write_summary(tmp_path / name, rows)
        assert read_rows(tmp_path / name) == [row.record() for row in rows]
    assert totals_line(rows) == "2 input(s): 1 ok, 0 nobody, 1 failed, 0 skipped"


def test_a_full_disk_is_an_output_error_for_every_output(tmp_path):
    def full(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match="No space left on device"):
        write_atomically(tmp_path / "x.json", full)
    assert list(tmp_path.iterdir()) == []


def test_workers_and_a_scheduler_cannot_both_be_asked_for():
    with pytest.raises(ValueError, match="not both"):
        Cluster(2, "tcp://localhost:8786")


@pytest.mark.slow
def test_a_local_cluster_gives_the_outputs_of_one_process_bit_for_bit(photos, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["estimate", str(photos), "--out", str(one), "--summary", str(tmp_path / "one.parquet"),
                 "--quiet"]) == 1  # the corrupt file
    assert main(["estimate", str(photos), "--out", str(two), "--workers", "2", "--summary",
                 str(tmp_path / "two.jsonl"), "--quiet"]) == 1
    assert outputs_of(one) == outputs_of(two) and len(outputs_of(one)) == 12
    local, cluster = read_rows(tmp_path / "one.parquet"), read_rows(tmp_path / "two.jsonl")
    by_path = {row["path"]: row for row in cluster}
    for row in local:
        assert (row["status"], row["people"]) == (by_path[row["path"]]["status"], by_path[row["path"]]["people"])
    assert {row["worker"] for row in local} == {"local"}
    assert all(row["worker"].startswith("tcp://") for row in cluster)
    failed = [row for row in cluster if row["status"] == "failed"]
    assert [Path(row["path"]).name for row in failed] == ["broken.jpg"] and "not a readable image" in failed[0]["error"]


def test_a_rerun_skips_complete_outputs_and_redoes_the_rest(photos, tmp_path, capsys):
    out = tmp_path / "out"
    main(["estimate", str(photos), "--out", str(out), "--quiet"])
    before = outputs_of(out)
    (out / "im0002.png").unlink()  # an output lost
    (out / "im0003.json").write_text('{"format": "poselift.estimate", "ver')  # a JSON cut short
    older = json.loads((out / "im0004.json").read_text())
    (out / "im0004.json").write_text(json.dumps({**older, "version": 2}))  # an older format: its 3D is redone
    capsys.readouterr()
    assert main(["estimate", str(photos), "--out", str(out), "--summary", str(tmp_path / "s.jsonl"), "--quiet"]) == 1
    printed = capsys.readouterr().out
    assert "skipping 3 photo(s) whose outputs are complete" in printed
    assert "7 input(s): 3 ok, 0 nobody, 1 failed, 3 skipped" in printed
    assert outputs_of(out) == before
    statuses = {Path(row["path"]).name: row["status"] for row in read_rows(tmp_path / "s.jsonl")}
    assert statuses["im0002.jpg"] == statuses["im0003.jpg"] == statuses["im0004.jpg"] == "ok"
    assert statuses["im0001.jpg"] == "skipped"
    main(["estimate", str(photos), "--out", str(out), "--rounds", "0", "--quiet"])  # other settings: all redone
    assert "7 input(s): 6 ok, 0 nobody, 1 failed, 0 skipped" in capsys.readouterr().out
    main(["estimate", str(photos), "--out", str(out), "--rounds", "0", "--overwrite", "--quiet"])
    assert "0 skipped" in capsys.readouterr().out


def _children(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def many_photos(data_dir, tmp_path):
    """Twenty LSP photos."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for k in range(1, 21):
        shutil.copy(data_dir / "lsp" / "images" / f"im{k:04d}.jpg", folder)
    return folder


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing(many_photos, tmp_path):
    out, summary = tmp_path / "out", tmp_path / "s.jsonl"
    run = subprocess.Popen([*POSELIFT, "estimate", str(many_photos), "--out", str(out), "--workers", "2",
                            "--summary", str(summary), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(lambda: out.is_dir() and any(out.glob("*.json")), 120, "the first output")
    workers = [p for p in _children(run.pid) if "spawn_main" in " ".join(p.cmdline())]
    assert len(workers) == 2
    workers[0].send_signal(signal.SIGKILL)
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 1, stderr.decode()  # im0011 has nobody in it (the status of a photo with nobody)
    rows = read_rows(summary)
    assert sorted(Path(row["path"]).name for row in rows) == sorted(p.name for p in many_photos.iterdir())
    assert {row["status"] for row in rows} == {"ok", "nobody"}
    for photo in many_photos.iterdir():
        document = json.loads((out / f"{photo.stem}.json").read_text())
        assert document["image"]["path"] == str(photo) and (out / f"{photo.stem}.png").stat().st_size > 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}{s}" for p in many_photos.iterdir()
                                                           for s in (".json", ".png"))  # no temporaries
    assert "20 input(s): 19 ok, 1 nobody, 0 failed, 0 skipped" in stdout.decode()


@pytest.mark.slow
def test_ctrl_c_ends_the_cluster_and_leaves_only_complete_outputs(many_photos, tmp_path):
    out = tmp_path / "out"
    run = subprocess.Popen([*POSELIFT, "estimate", str(many_photos), "--out", str(out), "--workers", "2", "--quiet"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(lambda: out.is_dir() and any(out.glob("*.json")), 120, "the first output")
    children = _children(run.pid)
    assert children
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr.decode()
    assert "poselift: interrupted" in stderr.decode()
    _, alive = psutil.wait_procs(children, timeout=20)
    assert alive == [], [p.cmdline() for p in alive]
    for document in out.glob("*.json"):
        assert json.loads(document.read_text())["format"] == "poselift.estimate"
        assert document.with_suffix(".png").is_file()
    assert not list(out.glob(".*.tmp"))


@pytest.mark.slow
def test_a_folder_that_turns_unwritable_mid_run_stops_it_and_keeps_what_was_done(many_photos, tmp_path):
    """As a full disk would: the first failed write stops the run (not one failure per photo),
    the outputs finished before are intact, the summary says what was done."""
    out, summary = tmp_path / "out", tmp_path / "s.jsonl"
    run = subprocess.Popen([*POSELIFT, "estimate", str(many_photos), "--out", str(out), "--workers", "2",
                            "--summary", str(summary), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(lambda: out.is_dir() and any(out.glob("*.json")), 120, "the first output")
    if subprocess.run(["chattr", "+i", str(out)], capture_output=True).returncode != 0:
        run.kill()
        pytest.skip("this file system cannot make a folder immutable (chattr +i)")
    try:
        _, stderr = run.communicate(timeout=120)
        finished = {p.stem for p in out.glob("*.json")}
    finally:
        subprocess.run(["chattr", "-i", str(out)], check=True)
    err = stderr.decode()
    assert run.returncode == 1 and "poselift: stopped: cannot write" in err and "Operation not permitted" in err
    assert "a rerun goes on from there" in err
    assert 0 < len(finished) < 20
    for stem in finished:
        assert json.loads((out / f"{stem}.json").read_text())["format"] == "poselift.estimate"
        assert (out / f"{stem}.png").is_file()
    rows = read_rows(summary)
    assert {Path(row["path"]).stem for row in rows if row["status"] in ("ok", "nobody")} == finished
    assert len(rows) < 20  # stopped, not every photo tried


def test_an_unwritable_output_folder_is_refused_before_any_work(photos, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    if subprocess.run(["chattr", "+i", str(out)], capture_output=True).returncode != 0:
        pytest.skip("this file system cannot make a folder immutable (chattr +i)")
    try:
        status = main(["estimate", str(photos), "--out", str(out), "--workers", "2", "--quiet"])
    finally:
        subprocess.run(["chattr", "-i", str(out)], check=True)
    assert status == 1 and "output folder is not writable" in capsys.readouterr().err


@pytest.mark.slow
def test_lift_runs_over_many_files_on_a_cluster_as_in_one_process(data_dir, tmp_path, capsys):
    from poselift.datasets import h36m

    camera = h36m.load_cameras(data_dir)["S9"][0]
    poses = h36m.load_poses_3d("S9", data_dir)
    inputs = tmp_path / "keypoints"
    inputs.mkdir()
    for name in sorted(poses)[:5]:
        np.save(inputs / f"{name.replace(' ', '_')}.npy", camera.project(poses[name][::40].astype(np.float64)))
    (inputs / "broken.npy").write_bytes(b"\x93NUMPY garbage")
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["lift", str(inputs), "--format", "h36m", "--out", str(one), "--quiet"]) == 1
    assert main(["lift", str(inputs / "*.npy"), "--format", "h36m", "--out", str(two), "--workers", "2",
                 "--summary", str(tmp_path / "s.parquet"), "--quiet"]) == 1
    assert outputs_of(one) == outputs_of(two) and len(outputs_of(one)) == 5
    rows = {Path(row["path"]).name: row for row in read_rows(tmp_path / "s.parquet")}
    assert rows["broken.npy"]["status"] == "failed" and rows["Directions.npy"]["status"] == "ok"
    assert rows["Directions.npy"]["people"] == len(json.loads((one / "Directions.json").read_text())["poses"])
    capsys.readouterr()
    assert main(["lift", str(inputs), "--format", "h36m", "--out", str(one), "--quiet"]) == 1
    assert "skipping 5 file(s) whose outputs are complete" in capsys.readouterr().out
    assert main(["lift", str(inputs), "--format", "h36m", "--out", str(one), "--angles", "40", "--quiet"]) == 1
    assert "skipping" not in capsys.readouterr().out  # other settings: all redone


def test_lift_of_several_files_takes_no_single_file_exports(tmp_path, capsys):
    assert main(["lift", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--format", "h36m",
                 "--out", str(tmp_path / "out"), "--bvh", str(tmp_path / "x.bvh")]) == 1
    assert "export one file's poses" in capsys.readouterr().err



def test_a_process_builds_its_models_once_for_a_whole_run():
    from dataclasses import dataclass

    from poselift.batch.engine import model_for

    builds = []

    @dataclass(frozen=True)
    class Settings:
        name: str

        def build(self):
            builds.append(self.name)
            return object()

    first = model_for(Settings("a"))
    assert all(model_for(Settings("a")) is first for _ in range(5)) and builds == ["a"]
    model_for(Settings("b"))  # another run's settings: built, and the first let go
    assert builds == ["a", "b"]


@pytest.mark.slow
def test_lift_joins_a_running_cluster_by_its_scheduler_address(data_dir, tmp_path):
    from distributed import LocalCluster

    from poselift.datasets import h36m

    camera = h36m.load_cameras(data_dir)["S9"][1]
    poses = h36m.load_poses_3d(data_dir=data_dir, subject="S9")
    inputs = tmp_path / "keypoints"
    inputs.mkdir()
    for name in sorted(poses)[:3]:
        np.save(inputs / f"{name.replace(' ', '_')}.npy", camera.project(poses[name][::80].astype(np.float64)))
    local, joined = tmp_path / "local", tmp_path / "joined"
    assert main(["lift", str(inputs), "--format", "h36m", "--lifter", "prior", "--out", str(local), "--quiet"]) == 0
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert main(["lift", str(inputs), "--format", "h36m", "--lifter", "prior", "--out", str(joined),
                     "--scheduler", cluster.scheduler_address, "--summary", str(tmp_path / "s.jsonl"),
                     "--quiet"]) == 0
        workers = set(cluster.scheduler_info["workers"])
        assert len(workers) == 1  # the cluster outlives the run that joined it
    assert outputs_of(local) == outputs_of(joined)
    assert {row["worker"] for row in read_rows(tmp_path / "s.jsonl")} == workers
