"""One task per input, in this process or on a Dask cluster, with the same code either way.

A task is a module-level function ``task(job, settings) -> Row`` that never raises for its
input's own failures (those are rows) and raises only for an interruption. ``settings`` is a
frozen, hashable description of the models (the prior, BlazePose, a lifter's weights):
:func:`model_for` builds them once per process and keeps them, so a worker loads them once,
not once per input; the local path hands in the models it has already built
(:func:`keep_model`), and runs the very same task function.

Clusters: ``--workers N`` starts a local Dask cluster of N worker processes (one thread
each); ``--scheduler ADDRESS`` joins a running Dask distributed cluster, whose workers must
have poselift installed and see the same files (inputs and output folder). Dask reruns the
tasks of a worker that dies on the other workers; a task whose workers die
``distributed.scheduler.allowed-failures`` + 1 times (default 4) is that input's failure.
A row marked ``fatal`` (the outputs cannot be written: a full disk, an unwritable folder)
stops the run: the rest is cancelled and :class:`StopRun` raised. An interruption (Ctrl-C,
SIGTERM) closes the cluster before it propagates.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .summary import Row

__all__ = ["Cluster", "StopRun", "current_worker", "keep_model", "model_for", "run_jobs", "task_row"]

_MODELS: dict = {}  # per process: settings -> the models built from them


class StopRun(OSError):
    """The run stopped on a failure that every other input would meet too: its message says
    which, and that the outputs finished before it are complete (the command line reports it
    as any other ``OSError``)."""

    def __init__(self, cause: str) -> None:
        super().__init__(f"stopped: {cause}; the outputs finished before it are complete, a rerun goes on from there")


@dataclass(frozen=True)
class Cluster:
    """Where tasks run: ``workers`` local processes, or the Dask scheduler at ``scheduler``."""

    workers: int | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.workers is not None and self.scheduler is not None:
            raise ValueError("give --workers or --scheduler, not both")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {self.workers}")

    @property
    def local(self) -> bool:
        """True: run in this process (neither workers nor a scheduler asked for)."""
        return self.workers is None and self.scheduler is None


def keep_model(settings, model) -> None:
    """Let this process's tasks use ``model``, already built from ``settings``."""
    _MODELS.clear()
    _MODELS[settings] = model


def model_for(settings):
    """The models of ``settings`` (``settings.build()``), built once per process."""
    if settings not in _MODELS:
        _MODELS.clear()  # one set of models at a time: a worker serves one run
        _MODELS[settings] = settings.build()
    return _MODELS[settings]


def run_jobs(jobs: list, task: Callable, settings, cluster: Cluster, on_row: Callable[[Row], None],
             progress: bool = True, unit: str = "input") -> list[Row]:
    """Run ``task(job, settings)`` for every job; ``on_row`` hears of each row as it comes.

    Returns:
        The rows, in the order the jobs finished.

    Raises:
        StopRun: a fatal row (after cancelling what was left); the rows so far were reported.
    """
    from tqdm import tqdm

    rows: list[Row] = []
    if not jobs:  # nothing to do: no cluster to start
        return rows
    bar = tqdm(total=len(jobs), desc="poselift", unit=unit, disable=not progress or len(jobs) < 2, file=sys.stderr)

    def take(row: Row) -> None:
        rows.append(row)
        on_row(row)
        bar.update(1)
        failed = sum(r.status == "failed" for r in rows)
        if failed:
            bar.set_postfix(failed=failed, refresh=False)
        if row.fatal:
            raise StopRun(row.error)

    results = _in_process(jobs, task, settings) if cluster.local else _on_cluster(jobs, task, settings, cluster)
    try:
        for row in results:
            take(row)
    finally:
        results.close()  # here, not when collected: it cancels what is left and closes the cluster
        bar.close()
    return rows


def _in_process(jobs: list, task: Callable, settings) -> Iterator[Row]:
    for job in jobs:
        yield task(job, settings)


@contextmanager
def _client(cluster: Cluster):
    from distributed import Client, LocalCluster

    if cluster.scheduler is not None:
        with Client(cluster.scheduler, timeout="30s") as client:
            yield client
        return
    with LocalCluster(n_workers=cluster.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as local, Client(local) as client:
        yield client


def _on_cluster(jobs: list, task: Callable, settings, cluster: Cluster) -> Iterator[Row]:
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    with _client(cluster) as client:
        futures = {client.submit(task, job, settings, pure=False): job for job in jobs}
        try:
            for future in as_completed(futures):
                job = futures[future]
                try:
                    yield future.result()
                except KilledWorker:
                    yield Row(str(job.path), "failed", None, 0.0, "its worker process died each time it ran it",
                              "killed")
                except Exception as error:  # a task raised what it should have made a row: still that input's
                    yield Row(str(job.path), "failed", None, 0.0, f"{type(error).__name__}: {error}", "unknown")
        finally:
            client.cancel(list(futures))


def current_worker() -> str:
    """The Dask worker running this task (its address), or ``"local"``."""
    if "distributed" not in sys.modules:  # never imported: not on a worker
        return "local"
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:  # not inside a worker
        return "local"


def task_row(path, work: Callable[[], tuple[str, int]]) -> Row:
    """The row of one input: ``work()`` gives its status and count of people or poses, timed;
    whatever it raises is that input's failure (fatal where the outputs cannot be written at
    all, :class:`~poselift.files.OutputError`), never an exception; interruptions pass."""
    from ..files import OutputError

    start = time.perf_counter()
    try:
        status, count = work()
    except OutputError as error:
        return Row(str(path), "failed", None, time.perf_counter() - start, str(error), current_worker(), True)
    except Exception as error:  # any failure of one input is that input's, whatever its type
        message = str(error) if str(path) in str(error) else f"{path}: {type(error).__name__}: {error}"
        return Row(str(path), "failed", None, time.perf_counter() - start, message, current_worker())
    return Row(str(path), status, count, time.perf_counter() - start, None, current_worker())
