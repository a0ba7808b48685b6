"""Training the stages on top of BlazePose: examples from real photos, loss, resume, DDP, errors."""

import os
import socket

import numpy as np
import pytest
import torch

from helpers import lsp_subset
from poselift.training import (
    ExampleDataset,
    TrainSettings,
    build_examples,
    evaluate_stages,
    load_examples,
    load_stages,
    save_examples,
    train,
)
from poselift.training.split import split_held_out

TINY = dict(stages=2, width=4, kernel=3, depth=1, batch_size=4, optimizer="adam", learning_rate=1e-2)


@pytest.fixture(scope="module")
def examples(data_dir, estimator):
    """Examples from the first 12 LSP photos, BlazePose run for real (so every test using it is slow)."""
    built, missed = build_examples(lsp_subset(data_dir, 12), estimator.blazepose, progress=False)
    assert len(built) + missed == 12
    return built


@pytest.mark.slow
def test_examples_hold_the_crop_the_maps_and_the_labels_in_cells(examples, tmp_path):
    n = len(examples)
    assert examples.patches.shape == (n, 128, 128, 3) and examples.beliefs.shape == (n, 13, 64, 64)
    assert not examples.mask[:, 0].any()  # LSP has no nose label
    inside = (examples.labels[examples.mask] >= 0) & (examples.labels[examples.mask] < 64)
    assert inside.mean() > 0.95  # the labelled joints fall in BlazePose's crop
    save_examples(examples, tmp_path / "ex.npz")
    again = load_examples(tmp_path / "ex.npz")
    assert np.array_equal(again.labels, examples.labels) and np.array_equal(again.source, examples.source)


def test_a_corrupt_examples_file_is_a_clear_error(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not an npz")
    with pytest.raises(ValueError, match="not a poselift examples file"):
        load_examples(tmp_path / "bad.npz")


@pytest.mark.slow
def test_held_out_split_is_lsp_images_801_to_1000(examples):
    names = np.array(["im0800.jpg", "im0801.jpg", "im1000.jpg", "im00900.jpg"])
    fake = examples.subset(np.zeros(4, dtype=int))
    fake.source = names
    training, held = split_held_out(fake)
    assert sorted(held.source) == ["im0801.jpg", "im1000.jpg"]
    assert sorted(training.source) == ["im00900.jpg", "im0800.jpg"]


@pytest.mark.slow
@pytest.mark.parametrize("lifting", ["forward", "off"])
def test_a_short_training_run_on_real_photos_lowers_the_loss(examples, small_prior, tmp_path, lifting):
    settings = TrainSettings(lifting=lifting, epochs=6, **TINY)
    model, log = train(ExampleDataset(examples), small_prior.prior, settings, tmp_path, progress=False)
    assert len(log) == 6
    assert log[-1]["stage_loss"][0] < 0.97 * log[0]["stage_loss"][0]  # measured: 5.8 -> 5.5
    assert (tmp_path / "log.jsonl").read_text().count("\n") == 6
    assert (tmp_path / "stages.pt").stat().st_size < 200_000  # learned weights only, no solver banks
    loaded = load_stages(tmp_path / "stages.pt", small_prior.prior)
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    result = evaluate_stages(loaded, ExampleDataset(examples))
    assert len(result["pck"]) == 2 and all(0 <= p <= 1 for p in result["pck"])


@pytest.mark.slow
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(examples, small_prior, tmp_path):
    full, _ = train(ExampleDataset(examples), small_prior.prior, TrainSettings(epochs=3, **TINY), tmp_path / "a",
                    progress=False)
    train(ExampleDataset(examples), small_prior.prior, TrainSettings(epochs=2, **TINY), tmp_path / "b", progress=False)
    # the checkpoint of a 2-epoch run, resumed with a 3-epoch budget
    resumed, log = train(ExampleDataset(examples), small_prior.prior, TrainSettings(epochs=3, **TINY), tmp_path / "b",
                         resume=True, progress=False)
    assert len(log) == 3
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.allclose(a, b)


@pytest.mark.parametrize("change, message", [
    ({"lifting": "sideways"}, "lifting"), ({"optimizer": "rmsprop"}, "optimizer"),
    ({"stages": 1}, "at least 2"), ({"learning_rate": 0.0}, "learning_rate"),
])
def test_bad_settings_fail_clearly(change, message):
    with pytest.raises(ValueError, match=message):
        TrainSettings(**{**TINY, **change}).check()


@pytest.mark.slow
def test_resume_without_a_checkpoint_or_with_other_settings_and_a_bad_stages_file_fail_clearly(
        examples, small_prior, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train(ExampleDataset(examples), small_prior.prior, TrainSettings(**TINY), tmp_path, resume=True, progress=False)
    train(ExampleDataset(examples), small_prior.prior, TrainSettings(epochs=1, **TINY), tmp_path, progress=False)
    with pytest.raises(ValueError, match="other settings"):
        train(ExampleDataset(examples), small_prior.prior, TrainSettings(epochs=2, **{**TINY, "width": 5}), tmp_path,
              resume=True, progress=False)
    (tmp_path / "stages.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a poselift stages file"):
        load_stages(tmp_path / "stages.pt", small_prior.prior)


def _ddp_worker(rank, port, examples_path, prior_path, out):
    from poselift.prior import PosePrior

    os.environ.update(WORLD_SIZE="2", RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    model, _ = train(ExampleDataset(load_examples(examples_path)), PosePrior.load(prior_path),
                     TrainSettings(epochs=2, **TINY), out, progress=False)
    torch.save(model.state_dict(), out / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_processes_with_gloo_end_with_equal_weights(examples, small_prior, tmp_path):
    save_examples(examples, tmp_path / "ex.npz")
    small_prior.prior.save(tmp_path / "prior.npz")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    torch.multiprocessing.spawn(_ddp_worker, args=(port, tmp_path / "ex.npz", tmp_path / "prior.npz", tmp_path),
                                nprocs=2, join=True)
    first, second = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    for name in first:
        assert torch.equal(first[name], second[name]), name
    assert (tmp_path / "stages.pt").is_file()


@pytest.mark.slow
def test_the_fusion_weights_learn_faster_than_the_convolutions(examples, small_prior, tmp_path):
    moved = {}
    for factor in (1.0, 100.0):
        settings = TrainSettings(epochs=2, fusion_lr_factor=factor, **{**TINY, "learning_rate": 1e-3})
        _, log = train(ExampleDataset(examples), small_prior.prior, settings, tmp_path / str(factor), progress=False)
        moved[factor] = abs(log[-1]["fusion_weight"][0] - settings.fusion_initial)
    assert moved[100.0] > 10 * moved[1.0]  # Adam: a step of about the rate per batch, either way
