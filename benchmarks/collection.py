"""Runs over many inputs on this machine: throughput, memory, start-up, and a run that survives a killed worker.

1. Throughput: ``--photos`` LSP photos (im0001 on), estimated in this process (the plain
   loop of ``poselift estimate``), then on a local Dask cluster of 1 and of 2 worker
   processes, one after the other in one run; photos per second and their ratios, the peak
   memory (RSS) of each worker process and of this process, and the cluster's start-up cost
   (processes up, then the models built on every worker).
2. Faults: ``--collection`` inputs made of LSP photos copied under new names with 1% corrupt
   files, estimated by ``poselift estimate --workers 2 --summary``; once a tenth of the
   outputs are written one worker process is killed (SIGKILL). Then: every good input's
   outputs present and valid, the summary's counts against what was planted, no temporary
   files; and a rerun, which estimates nothing.
3. Lifting: ``--frames`` frames of S9 ground-truth 2D (all sequences, four cameras, repeated)
   split into files of 10,000 frames, lifted by ``poselift lift --lifter prior`` (the paper's
   lifter, as in the runs before; the combined one lifts about 500 frames a second, and a
   million would take over half an hour a run) with 1 and 2 workers.

Prints tables and writes ``benchmarks/results/collection.json``.

    python benchmarks/collection.py [--photos 1000] [--collection 5000] [--frames 1000000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from poselift.batch.engine import Cluster, model_for
from poselift.datasets import data_root, h36m
from poselift.estimate_output import EstimateSettings, EstimatorSpec, OutputOptions, estimate_files

RESULTS = Path(__file__).resolve().parent / "results"
POSELIFT = [sys.executable, "-m", "poselift.cli"]


class PeakMemory:
    """Peak RSS (MiB) of this process and of each of its child processes, sampled every 0.2 s."""

    def __init__(self) -> None:
        self.own, self.children, self._stop = 0.0, {}, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self.own = max(self.own, me.memory_info().rss / 2**20)
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss / 2**20
                except psutil.Error:
                    continue
                self.children[child.pid] = max(self.children.get(child.pid, 0.0), rss)
            time.sleep(0.2)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()


def throughput(photos: list[Path], folder: Path) -> dict:
    spec = EstimatorSpec(threads=2)
    estimator = spec.build()
    rows = {}
    for name, cluster, threads in (("in this process", Cluster(), 2), ("--workers 1", Cluster(1), 1),
                                   ("--workers 2", Cluster(2), 1)):
        out = folder / name.replace(" ", "_")
        out.mkdir(parents=True)
        with PeakMemory() as memory, contextlib.redirect_stdout(io.StringIO()):  # not a line per photo
            start = time.perf_counter()
            report = estimate_files(photos, out, estimator, progress=False, cluster=cluster,
                                    spec=EstimatorSpec(threads=threads))
            seconds = time.perf_counter() - start
        workers = sorted(v for v in memory.children.values() if v > 200)  # the worker processes, not helpers
        rows[name] = {"seconds": seconds, "photos_per_second": len(photos) / seconds,
                      "failed": len(report.failed), "peak_rss_mib_this_process": memory.own,
                      "peak_rss_mib_per_worker": workers}
    base = rows["in this process"]["photos_per_second"]
    for row in rows.values():
        row["ratio_to_this_process"] = row["photos_per_second"] / base
    return rows


def start_up() -> dict:
    """Seconds to start a local cluster of 2 processes, and then to build the models on both."""
    from distributed import Client, LocalCluster

    settings = EstimateSettings(OutputOptions(), EstimatorSpec(threads=1))
    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(2)
        up = time.perf_counter() - start
        client.run(lambda: model_for(settings) is not None)
        models = time.perf_counter() - start - up
    return {"cluster_seconds": up, "models_seconds": models}


def collection_run(data: Path, count: int, folder: Path) -> dict:
    inputs, out, summary = folder / "inputs", folder / "out", folder / "summary.parquet"
    inputs.mkdir()
    corrupt = set(range(0, count, 100))  # 1%
    sources = sorted((data / "lsp" / "images").glob("*.jpg"))
    for k in range(count):
        name = inputs / f"photo{k:05d}.jpg"
        if k in corrupt:
            name.write_bytes(sources[k % len(sources)].read_bytes()[: 300])  # a JPEG cut short
        else:
            shutil.copyfile(sources[k % len(sources)], name)
    start = time.perf_counter()
    run = subprocess.Popen([*POSELIFT, "estimate", str(inputs), "--out", str(out), "--workers", "2", "--summary",
                            str(summary), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    killed = None
    while run.poll() is None and killed is None:
        if out.is_dir() and sum(1 for _ in out.glob("*.json")) >= count // 10:
            workers = [p for p in psutil.Process(run.pid).children(recursive=True)
                       if "spawn_main" in " ".join(p.cmdline())]
            workers[0].send_signal(signal.SIGKILL)
            killed = workers[0].pid
        time.sleep(0.5)
    stdout, _ = run.communicate()
    seconds = time.perf_counter() - start
    import pyarrow.parquet as pq

    rows = pq.read_table(summary).to_pylist()
    statuses = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    failed = {Path(row["path"]).name for row in rows if row["status"] == "failed"}
    planted = {f"photo{k:05d}.jpg" for k in corrupt}
    valid = 0
    for k in range(count):
        if k in corrupt:
            continue
        document = json.loads((out / f"photo{k:05d}.json").read_text())
        valid += document["image"]["path"] == str(inputs / f"photo{k:05d}.jpg") and (
            out / f"photo{k:05d}.png").stat().st_size > 0
    temporaries = [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    rerun_start = time.perf_counter()
    rerun = subprocess.run([*POSELIFT, "estimate", str(inputs), "--out", str(out), "--workers", "2", "--quiet"],
                           capture_output=True, text=True)
    return {"inputs": count, "planted_corrupt": len(corrupt), "worker_killed_pid": killed, "seconds": seconds,
            "exit_status": run.returncode, "summary_rows": len(rows), "summary_statuses": statuses,
            "failed_are_exactly_the_planted": failed == planted, "good_outputs_valid": valid,
            "temporary_files_left": temporaries, "totals_printed": stdout.decode().strip().splitlines()[-1],
            "rerun_seconds": time.perf_counter() - rerun_start,
            "rerun_printed": [line for line in rerun.stdout.splitlines() if "skipping" in line or "input(s)" in line]}


def lifting(frames: int, folder: Path) -> dict:
    camera_views = []
    cameras = h36m.load_cameras()["S9"]
    for _, poses in sorted(h36m.load_poses_3d("S9").items()):
        for camera in cameras:
            camera_views.append(camera.project(poses.astype(np.float64)))
    views = np.concatenate(camera_views)
    views = np.concatenate([views] * int(np.ceil(frames / len(views))))[:frames]
    inputs = folder / "keypoints"
    inputs.mkdir()
    for k, start in enumerate(range(0, frames, 10_000)):
        np.save(inputs / f"part{k:04d}.npy", views[start:start + 10_000])
    rows = {}
    for workers in (1, 2):
        out = folder / f"lifted{workers}"
        start = time.perf_counter()
        subprocess.run([*POSELIFT, "lift", str(inputs), "--format", "h36m", "--lifter", "prior", "--out", str(out),
                        "--workers", str(workers), "--quiet"], check=True, capture_output=True)
        seconds = time.perf_counter() - start
        rows[f"--workers {workers}"] = {"seconds": seconds, "frames_per_second": frames / seconds}
    return {"frames": frames, "files": len(list(inputs.iterdir())), "runs": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--collection", type=int, default=5000)
    parser.add_argument("--frames", type=int, default=1_000_000)
    args = parser.parse_args()
    data = data_root()
    photos = sorted((data / "lsp" / "images").glob("*.jpg"))[: args.photos]
    result = {"machine": platform.platform(), "cpus": psutil.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result["start_up"] = start_up()
        print(f"local cluster of 2: processes up in {result['start_up']['cluster_seconds']:.1f} s, models built in "
              f"{result['start_up']['models_seconds']:.1f} s more")
        result["throughput"] = throughput(photos, folder / "throughput")
        print(f"{len(photos)} LSP photos       photos/s  ratio  peak RSS MiB (this process; each worker)")
        for name, row in result["throughput"].items():
            workers = ", ".join(f"{m:.0f}" for m in row["peak_rss_mib_per_worker"]) or "-"
            print(f"{name:<22}{row['photos_per_second']:>8.2f}{row['ratio_to_this_process']:>7.2f}  "
                  f"{row['peak_rss_mib_this_process']:.0f}; {workers}")
        (folder / "collection").mkdir()
        result["collection"] = collection_run(data, args.collection, folder / "collection")
        print(json.dumps(result["collection"], indent=1))
        (folder / "lift").mkdir()
        result["lifting"] = lifting(args.frames, folder / "lift")
        for name, row in result["lifting"]["runs"].items():
            print(f"lift {args.frames} frames in {result['lifting']['files']} files, {name}: "
                  f"{row['frames_per_second']:.0f} frames/s")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "collection.json"
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
