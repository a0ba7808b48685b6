"""Shared fixtures: the real data in ../shared/data, skipped only outside CI when absent.

Plain helper functions the tests share are in helpers.py."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from poselift.datasets import data_root


@pytest.fixture(scope="session", autouse=True)
def ctrl_c_reaches_the_tests():
    """A test run started in the background by a shell ignores Ctrl-C, and so would every
    command the tests start (ignored signals survive exec): the tests that send one need it
    caught, as in a terminal. Python's own handler is caught, so the commands get the default."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def data_dir():
    """The shared data folder; skips when absent, fails when absent under CI."""
    root = data_root()
    if not (root / "h36m").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the shared data is missing at {root}")
        pytest.skip(f"shared data not found at {root}")
    return root


@pytest.fixture(scope="session")
def s1_poses(data_dir):
    """(N, 17, 3) world-mm poses: every 20th frame of Human3.6M S1."""
    from poselift.datasets.h36m import stack_poses

    return stack_poses(["S1"], data_dir, step=20)


@pytest.fixture(scope="session")
def small_prior(s1_poses):
    """A 2-component, 6-basis prior fitted on ``s1_poses`` (fast)."""
    from poselift.prior.fit import fit_prior

    return fit_prior(s1_poses, n_components=2, n_basis=6, training_data="S1 every 20th frame")


@pytest.fixture(scope="session")
def prior(small_prior):
    """The :class:`~poselift.prior.PosePrior` of ``small_prior`` (which is the fit's report)."""
    return small_prior.prior


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def photos(data_dir):
    """The folder of real photos (astronaut, Grace Hopper, camera man, three dancers)."""
    return data_dir / "photos"


@pytest.fixture(scope="session")
def estimator():
    """The photo-to-3D estimator with BlazePose; skips (fails under CI) if its model files are missing or damaged."""
    from poselift.detectors import ModelError
    from poselift.estimator import Estimator

    try:
        return Estimator()
    except ModelError as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but BlazePose is unavailable: {error}")
        pytest.skip(str(error))
