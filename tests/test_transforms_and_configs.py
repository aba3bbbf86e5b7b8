"""Training transforms, seeded augmentation, and every stage-1 config."""
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from stage1_cam.datasets import transforms as T
from stage1_cam.datasets.classification import EpochIndexSampler, ImageLabelDataset
from stage1_cam.datasets.demo import generate_demo_dataset
from stage1_cam.models import build_model

CONFIGS = sorted((Path(__file__).resolve().parents[1] / 'configs' / 'stage1').glob('*.py'))


def gradient_image(height, width):
    y, x = np.mgrid[:height, :width]
    return np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)


def test_random_crop_pads_small_images_with_mean_colour():
    rng = np.random.default_rng(0)
    out = T.RandomCrop(64)(gradient_image(20, 100), rng)
    assert out.shape == (64, 64, 3)
    mean = np.round(T.IMAGENET_MEAN_RGB).astype(np.uint8)
    padded_rows = np.all(out == mean, axis=(1, 2))
    assert padded_rows.sum() >= 64 - 20  # rows outside the 20-pixel-high image


def test_random_crop_is_a_window_of_the_image():
    image = gradient_image(100, 120)
    out = T.RandomCrop(32)(image, np.random.default_rng(1))
    ys, xs = np.where((image[:, :, 0] == out[0, 0, 0]) & (image[:, :, 1] == out[0, 0, 1]))
    y, x = ys[0], xs[0]
    np.testing.assert_array_equal(image[y:y + 32, x:x + 32], out)


def test_resize_long_and_scale_ranges():
    rng = np.random.default_rng(0)
    image = gradient_image(100, 200)
    for _ in range(20):
        out = T.RandomResizeLong(50, 80)(image, rng)
        assert 50 <= max(out.shape[:2]) <= 80
        assert abs(out.shape[1] / out.shape[0] - 2.0) < 0.1
    assert T.Resize(64)(image, rng).shape == (64, 64, 3)
    out = T.RandomScale(0.5, 0.5)(image, rng)
    assert out.shape == (50, 100, 3)


def test_flip_mirrors():
    image = gradient_image(8, 8)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(image, np.random.default_rng()),
                                  image[:, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(image, np.random.default_rng()),
                                  image)


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    generate_demo_dataset(root, seed=1, num_train=6, num_val=2)
    return root


def test_augmentation_depends_on_epoch_and_index_only(demo_root):
    pipeline = [dict(type='RandomScale', low=0.7, high=1.3), dict(type='RandomHorizontalFlip'),
                dict(type='RandomCrop', size=96)]
    dataset = ImageLabelDataset(dict(type='Demo', data_root=str(demo_root)), 6, pipeline, seed=5)
    a = dataset[(3, 0)]['inputs']
    _ = dataset[(1, 0)]  # other draws in between change nothing
    assert (dataset[(3, 0)]['inputs'] == a).all()
    assert not (dataset[(3, 1)]['inputs'] == a).all()  # another epoch, another crop
    item = dataset[3]
    assert item['inputs'].dtype.is_floating_point is False and item['inputs'].shape == (3, 96, 96)
    assert item['data_samples']['labels'].shape == (6,)


def test_epoch_index_sampler_yields_epoch(demo_root):
    dataset = ImageLabelDataset(dict(type='Demo', data_root=str(demo_root)), 6)
    sampler = EpochIndexSampler(dataset, shuffle=True, seed=0)
    sampler.set_epoch(3)
    items = list(sampler)
    assert sorted(i for i, _ in items) == list(range(len(dataset)))
    assert {e for _, e in items} == {3}


@pytest.mark.parametrize('path', CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_stage1_config_builds_its_model(path):
    cfg = Config.fromfile(str(path))
    model_cfg = cfg.model.copy()
    model_cfg['backbone'] = dict(model_cfg['backbone'], pretrained=False)
    model = build_model(model_cfg)
    dataset = cfg.train_dataloader.dataset
    assert model.num_classes == dataset.num_classes
    assert cfg.train_dataloader.sampler.type == 'EpochIndexSampler'
    assert cfg.default_scope == 'stage1_cam'
