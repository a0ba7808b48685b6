"""The cpm configuration on real LSP photos: crops and labels, augmentation, a tiny network trained."""

import numpy as np
import pytest
import torch

from helpers import lsp_subset
from poselift.training import (
    ExampleDataset,
    LabelledPhotos,
    PhotoCrops,
    TrainSettings,
    evaluate_stages,
    load_stages,
    lsp_photos,
    train,
)
from poselift.training.photos import STRIDE, crop_transform, person_box
from poselift.training.split import split_held_out

TINY_CPM = dict(width=8, batch_size=4, optimizer="adam", learning_rate=1e-3, flip=False)


@pytest.fixture(scope="module")
def lsp_labelled(data_dir):
    """LabelledPhotos: eight LSP photos (every joint labelled) and two LSP-extended ones."""
    every = lsp_photos(data_dir)
    names = every.source
    return every.subset(np.r_[np.arange(8), np.flatnonzero(np.char.str_len(names.astype(str)) == 11)[:2]])


def test_lsp_photos_hold_both_sets_and_the_held_out_split_is_lsp_801_to_1000(data_dir):
    every = lsp_photos(data_dir)
    assert len(every.joint_set) == 14 and every.joints.shape == (len(every), 14, 2)
    training, held = split_held_out(every)
    assert len(held) == 200 and held.source[0] == "im0801.jpg" and held.source[-1] == "im1000.jpg"
    assert len(training) == len(every) - 200 and "im0800.jpg" in training.source


def test_labels_in_cells_map_back_to_the_photo(lsp_labelled):
    crops = PhotoCrops(lsp_labelled, size=368)
    for i in range(len(lsp_labelled)):
        item = crops[i]
        assert item["inputs"][0].shape == (3, 368, 368)
        centre, side = person_box(lsp_labelled.joints[i], lsp_labelled.labelled[i])
        affine = crop_transform(centre, side, 368)
        labelled = item["mask"].numpy() > 0
        assert np.array_equal(labelled, lsp_labelled.labelled[i])  # the box holds every labelled joint
        crop_pixels = item["labels"].numpy()[labelled] * STRIDE + (STRIDE - 1) / 2
        back = (crop_pixels - affine[:, 2]) @ np.linalg.inv(affine[:, :2]).T
        assert np.allclose(back, lsp_labelled.joints[i][labelled], atol=1e-3)


def test_a_mirrored_crop_is_the_crop_reversed_with_left_and_right_swapped(lsp_labelled):
    crops = PhotoCrops(lsp_labelled, size=368, augment=True, flip=True, seed=3)
    drawn = [crops._draw(i) for i in range(len(lsp_labelled))]
    i = next(k for k, d in enumerate(drawn) if d["flip"])
    flipped = crops[i]
    crops.flip = False
    plain = crops[i]
    assert not crops._draw(i)["flip"] and crops._draw(i)["scale"] == drawn[i]["scale"]
    image_flipped, image_plain = flipped["inputs"][0].numpy(), plain["inputs"][0].numpy()
    assert np.abs(image_flipped - image_plain[:, :, ::-1]).max() < 2 / 255  # interpolation rounding only
    mirror = lsp_labelled.joint_set.mirror_index
    both = (plain["mask"].numpy() > 0) & (flipped["mask"].numpy()[mirror] > 0)
    expected_x = 368 // STRIDE - 1 - plain["labels"].numpy()[:, 0]
    assert np.allclose(flipped["labels"].numpy()[mirror][both, 0], expected_x[both], atol=1e-4)


@pytest.mark.slow
def test_augmented_crops_keep_the_labels_on_the_person(lsp_labelled, estimator):
    """BlazePose, run on scaled, turned, shifted and mirrored crops, finds the joints where the
    labels say (LSP's people are upright enough for it)."""
    from poselift.skeleton import BLAZEPOSE33

    crops = PhotoCrops(lsp_labelled, size=368, augment=True, flip=True, seed=1)
    # the limbs: BlazePose has no neck or head top
    blaze = [BLAZEPOSE33.index(n) for n in lsp_labelled.joint_set.joints[:12]]
    mirror = lsp_labelled.joint_set.mirror_index[:12]
    checked = 0
    for i in range(6):  # three of them mirrored
        item = crops[i]
        image = (item["inputs"][0].numpy().transpose(1, 2, 0) * 255).round().astype(np.uint8)
        people = estimator.blazepose.find_people(image)
        if not people:
            continue
        labelled = item["mask"].numpy()[:12] > 0
        labels = item["labels"].numpy()[:12] * STRIDE + (STRIDE - 1) / 2
        found = people[0].keypoints[blaze]
        error = np.median(np.linalg.norm(found - labels, axis=1)[labelled])
        swapped = np.median(np.linalg.norm(found[mirror] - labels, axis=1)[labelled])
        assert error < 20 and error < swapped  # measured 4.6-11.3 px, with sides swapped 10-121 px
        checked += 1
    assert checked >= 5


@pytest.mark.slow
def test_a_tiny_cpm_network_trains_on_real_photos_saves_and_resumes(lsp_labelled, small_prior, tmp_path):
    settings = TrainSettings.defaults("cpm", epochs=4, **TINY_CPM)
    assert settings.stages == 6 and settings.input_size == 368 and settings.kernel == 7
    assert TrainSettings.defaults("cpm").flip and not TrainSettings.defaults("blazepose").flip
    crops = PhotoCrops(lsp_labelled, settings.input_size)
    model, log = train(crops, small_prior.prior, settings, tmp_path, progress=False,
                       joint_set=lsp_labelled.joint_set, held_out=crops)
    assert len(log[0]["stage_loss"]) == 6 and len(log[0]["fusion_weight"]) == 5
    assert sum(log[-1]["stage_loss"]) < 0.9 * sum(log[0]["stage_loss"])
    assert len(log[-1]["held_out_pck"]) == 6
    loaded = load_stages(tmp_path / "stages.pt", small_prior.prior)
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    result = evaluate_stages(loaded, crops)
    assert result["examples"] == len(lsp_labelled) and result["pck"] == log[-1]["held_out_pck"]
    assert result["pixel_error"] == log[-1]["held_out_pixel_error"]  # what poselift train reports
    longer = TrainSettings.defaults("cpm", epochs=5, **TINY_CPM)
    _, resumed = train(crops, small_prior.prior, longer, tmp_path, resume=True, progress=False,
                       joint_set=lsp_labelled.joint_set)
    assert len(resumed) == 5 and resumed[:4] == log


def test_the_two_configurations_refuse_what_they_cannot_do(lsp_labelled, small_prior, tmp_path):
    with pytest.raises(ValueError, match="config must be one of"):
        TrainSettings.defaults("resnet")
    with pytest.raises(ValueError, match="unknown training settings"):
        TrainSettings.defaults("cpm", colour=True)
    with pytest.raises(ValueError, match="multiple of 8"):
        TrainSettings.defaults("cpm", input_size=100).check()
    with pytest.raises(ValueError, match="128-pixel"):
        TrainSettings.defaults("blazepose", input_size=368).check()
    with pytest.raises(ValueError, match="needs the joint set"):
        train(PhotoCrops(lsp_labelled, 64), small_prior.prior,
              TrainSettings.defaults("cpm", input_size=64, **TINY_CPM), tmp_path, progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no GPU"):
            train(PhotoCrops(lsp_labelled, 64), small_prior.prior, TrainSettings.defaults("cpm", input_size=64),
                  tmp_path, progress=False, joint_set=lsp_labelled.joint_set, device="cuda")
    images, joints, joint_set = lsp_labelled.images, lsp_labelled.joints, lsp_labelled.joint_set
    with pytest.raises(ValueError, match="at least two labelled"):
        LabelledPhotos(images[:1], joints[:1], np.zeros((1, 14), bool), joint_set)
    with pytest.raises(ValueError, match="need joints"):
        LabelledPhotos(images[:2], joints[:1], lsp_labelled.labelled[:1], joint_set)


@pytest.mark.slow
def test_mirrored_blazepose_examples_keep_maps_and_labels_together(data_dir, estimator):
    """The error of a map's peak against its label is the same in the mirrored example."""
    from poselift.beliefs import argmax_subpixel
    from poselift.training import build_examples

    examples, _ = build_examples(lsp_subset(data_dir, 4), estimator.blazepose, progress=False)
    plain, mirrored = ExampleDataset(examples), ExampleDataset(examples, flip=True, seed=0)
    flips = 0
    for i in range(len(examples)):
        a, b = plain[i], mirrored[i]
        errors = []
        for item in (a, b):
            peaks, _ = argmax_subpixel(item["inputs"][1].numpy().transpose(1, 2, 0).astype(np.float64))
            errors.append(np.sort(np.linalg.norm(peaks - item["labels"].numpy(), axis=1)[item["mask"].numpy() > 0]))
        assert np.allclose(errors[0], errors[1], atol=1e-4)
        flips += not torch.equal(a["inputs"][0], b["inputs"][0])
    assert flips > 0
