"""Several hypotheses and per-joint uncertainty: the calibration fitted on S8, measured on S9.

    python benchmarks/hypotheses.py --fit [--prior p.npz]   # fit T and c on S8 (docs/hypotheses.md)
    python benchmarks/hypotheses.py         # S9: the reliability plot and the speed of k = 5 against k = 1

``--fit`` runs protocol #1's frames of the validation subject S8 (every ``--step``-th frame,
all four cameras, Stacked-Hourglass detections: a detector's 2D, what users lift) with five
hypotheses, for the prior's search alone and with the learned lifter's guide, and fits the two
numbers of :data:`poselift.lifting.hypotheses.CALIBRATIONS` for each. ``--prior`` takes a prior
fitted without S8 (the shipped one has seen S8's poses, and its errors there are smaller than
on anyone it has not seen):

* the temperature T, by maximum likelihood of which hypothesis lies nearest the truth (poses
  with at least two hypotheses), from their relative costs;
* the noise factor c, by maximum likelihood of every non-root joint coordinate's error
  under a Gaussian whose variance is ``c o + s`` (o: the posterior part at c = 1, s: the
  spread of the hypotheses at the fitted T; two runs give both).

Without ``--fit`` it reads the S9 results that ``poselift evaluate h36m --protocol 1
--hypotheses 5`` wrote to ``benchmarks/results/h36m_protocol1_<input>_<lifter>_hypotheses.json``,
draws their reliability plot (``docs/images/hypotheses_reliability.png``), and times lifting
S9 frames with k = 1 and k = 5 (and without hypotheses) in this process; it writes
``benchmarks/results/hypotheses.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar

from poselift.evaluation.h36m import HypothesisTally, evaluate_h36m
from poselift.lifting import Lifter, hypotheses
from poselift.prior.model import PosePrior

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
PLOT = ROOT.parent / "docs" / "images" / "hypotheses_reliability.png"
KINDS = {"prior": "prior", "combined": "guided"}  # the lifter, and its entry of CALIBRATIONS


def run(prior: PosePrior, lifter: str, step: int, calibration: hypotheses.Calibration, data) -> HypothesisTally:
    """S8's protocol #1 frames (every ``step``-th) from SH detections, 5 hypotheses, under ``calibration``."""
    hypotheses.CALIBRATIONS[KINDS[lifter]] = calibration
    tally = HypothesisTally(5)
    evaluate_h36m(prior, 1, "sh", ("S8",), data_dir=data, lifter=lifter, frame_step=step, hypotheses=5, tally=tally)
    return tally


def fit_temperature(relative_costs: np.ndarray, errors: np.ndarray) -> float:
    """T maximising the likelihood of the nearest hypothesis of poses with two or more."""
    several = np.sum(np.isfinite(relative_costs), axis=1) >= 2
    costs, nearest = relative_costs[several], np.nanargmin(errors[several], axis=1)
    costs = np.where(np.isfinite(costs), costs - np.nanmin(costs, axis=1, keepdims=True), np.inf)

    def loss(log_t: float) -> float:
        logits = -costs / np.exp(log_t)
        top = logits.max(axis=1, keepdims=True)
        log_p = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
        return -float(log_p[np.arange(len(costs)), nearest].mean())

    return float(np.exp(minimize_scalar(loss, bounds=(-12.0, 4.0), method="bounded").x))


def fit_scale(offsets: np.ndarray, own: np.ndarray, spread: np.ndarray) -> float:
    """c maximising the Gaussian likelihood of the offsets (m, 3) with variances ``c own + spread``."""

    def loss(log_c: float) -> float:
        variance = np.exp(log_c) * own + spread
        return float(np.mean(np.log(variance) + offsets**2 / variance))

    return float(np.exp(minimize_scalar(loss, bounds=(-20.0, 10.0), method="bounded").x))


def fit(prior: PosePrior, step: int, data) -> dict:
    fitted = {}
    for lifter in KINDS:
        start = time.perf_counter()
        first = run(prior, lifter, step, hypotheses.Calibration(1.0, 1.0), data)
        temperature = fit_temperature(first.relative_costs, first.errors)
        with_posterior = run(prior, lifter, step, hypotheses.Calibration(temperature, 1.0), data)
        spread_only = run(prior, lifter, step, hypotheses.Calibration(temperature, 0.0), data)
        spread = spread_only.deviations**2
        own = with_posterior.deviations**2 - spread
        scale = fit_scale(with_posterior.offsets, own, spread)
        variance = scale * own + spread
        fitted[lifter] = {"temperature": temperature, "covariance_scale": scale, "poses": len(first.errors),
                          "mean_log_likelihood": float(-0.5 * np.mean(np.log(2 * np.pi * variance)
                                                                      + with_posterior.offsets**2 / variance)),
                          "seconds": time.perf_counter() - start}
        print(f"{lifter}: T = {temperature:.4g}, c = {scale:.4g}, mean log-likelihood of a coordinate "
              f"{fitted[lifter]['mean_log_likelihood']:.3f} ({len(first.errors)} S8 poses, "
              f"{fitted[lifter]['seconds']:.0f} s)")
    return fitted


def reliability_plot(results: dict[str, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5.2, 4.6), dpi=110)
    axes.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="ideal")
    for name, result in results.items():
        several = result["hypotheses"]
        axes.plot(several["levels"], several["within"]["all"], marker="o", markersize=3, label=name)
    axes.set_xlabel("nominal level (two-sided Gaussian)")
    axes.set_ylabel("fraction of joint coordinates within the bound")
    axes.set_title("Human3.6M S9, protocol #1, 5 hypotheses")
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(PLOT)
    print(f"wrote {PLOT}")


def speed(data, frames: int) -> list[dict]:
    """Poses per second lifting ground-truth S9 2D with k = 1 and 5 hypotheses, and without."""
    from poselift.datasets import h36m

    cameras = h36m.load_cameras(data)["S9"]
    poses = np.concatenate([p[::10] for p in h36m.load_poses_3d("S9", data).values()]).astype(np.float64)
    points = np.concatenate([c.project(poses) for c in cameras])
    points = points[np.random.default_rng(0).permutation(len(points))[:frames]]
    lifter = Lifter(PosePrior.default())
    rows = []
    for count in (None, 1, 5):
        lifter.lift(points[:64], hypotheses=count)
        best = min(_timed(lambda count=count: lifter.lift(points, hypotheses=count)) for _ in range(3))
        rows.append({"hypotheses": count, "frames": frames, "frames_per_second": frames / best})
        print(f"hypotheses {count}: {frames / best:,.0f} frames/s")
    return rows


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="fit the calibration on S8")
    parser.add_argument("--step", type=int, default=25, help="--fit: every n-th frame of S8")
    parser.add_argument("--frames", type=int, default=20000, help="frames timed")
    parser.add_argument("--prior", help="--fit: a prior .npz (default: the shipped one)")
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.fit:
        prior = PosePrior.load(args.prior) if args.prior else PosePrior.default()
        fitted = fit(prior, args.step, args.data)
        out = {"machine": platform.platform(), "subject": "S8", "input": "sh", "frame_step": args.step,
               "prior": prior.describe(), "fitted": fitted}
        (RESULTS / "hypotheses_calibration.json").write_text(json.dumps(out, indent=1))
        print(f"wrote {RESULTS / 'hypotheses_calibration.json'}")
        return
    results = {}
    for source in ("gt", "sh"):
        for lifter in KINDS:
            path = RESULTS / f"h36m_protocol1_{source}_{lifter}_hypotheses.json"
            if path.is_file():
                results[f"{lifter}, {source.upper()} input"] = json.loads(path.read_text())
    if results:
        reliability_plot(results)
    out = {"machine": platform.platform(), "speed": speed(args.data, args.frames),
           "calibration_on_s9": {name: {k: r["hypotheses"][k] for k in ("within_1sd", "within_2sd",
                                                                        "rank_correlation", "median_sd_mm")}
                                 for name, r in results.items()}}
    (RESULTS / "hypotheses.json").write_text(json.dumps(out, indent=1))
    print(f"wrote {RESULTS / 'hypotheses.json'}")


if __name__ == "__main__":
    main()
