"""The synthetic demo dataset: layout, label consistency, parts, determinism, CLI."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stage1_cam.datasets.base import DatasetError, read_labels_json, read_split_list
from stage1_cam.datasets.demo import (DEMO_CLASSES, HEAD_SHARE_RANGE, PART_BODY, PART_HEAD,
                                      generate_demo_dataset, is_demo_folder)
from wsss_core.io import read_label_png

REPO_ROOT = Path(__file__).resolve().parents[1]
NUM_TRAIN, NUM_VAL = 12, 4


def _digests(root):
    """sha256 of every file under root, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    meta = generate_demo_dataset(root, seed=3, num_train=NUM_TRAIN, num_val=NUM_VAL)
    return root, meta


def test_layout_and_meta(demo):
    root, meta = demo
    train = read_split_list(root / 'ImageSets/Segmentation/train.txt')
    val = read_split_list(root / 'ImageSets/Segmentation/val.txt')
    assert len(train) == NUM_TRAIN and len(val) == NUM_VAL and not set(train) & set(val)
    for image_id in train + val:
        for sub, suffix in (('JPEGImages', '.jpg'), ('SegmentationClass', '.png'), ('parts', '.png')):
            assert (root / sub / f'{image_id}{suffix}').is_file()
    with Image.open(root / 'JPEGImages' / f'{train[0]}.jpg') as image:
        assert image.format == 'JPEG' and image.mode == 'RGB'
        assert image.size == tuple(meta['image_size'][::-1])
    saved = json.loads((root / 'meta.json').read_text())
    assert saved['complete'] and saved['seed'] == 3 and saved['class_names'] == DEMO_CLASSES
    assert saved['num_train'] == NUM_TRAIN and saved['num_val'] == NUM_VAL
    assert 'generator_version' in saved
    assert is_demo_folder(root)
    assert not list(root.rglob('*.tmp'))   # atomic writes left nothing behind


def test_masks_are_palette_pngs_and_agree_with_labels(demo):
    root, _ = demo
    class_names, labels = read_labels_json(root / 'labels.json', expect_classes=DEMO_CLASSES)
    ids = [p.stem for p in (root / 'JPEGImages').glob('*.jpg')]
    assert sorted(labels) == sorted(ids)
    num_objects = 0
    for image_id in ids:
        with Image.open(root / 'SegmentationClass' / f'{image_id}.png') as image:
            assert image.mode == 'P'
        mask = read_label_png(root / 'SegmentationClass' / f'{image_id}.png')
        present = sorted(int(c) for c in np.unique(mask) if c not in (0, 255))
        assert present == labels[image_id]
        assert 1 <= len(present) <= 3 and all(1 <= c <= len(class_names) for c in present)
        num_objects += len(present)
    assert num_objects > len(ids)   # several images hold more than one class


def test_parts_inside_objects_and_head_share(demo):
    root, _ = demo
    low, high = HEAD_SHARE_RANGE
    for path in (root / 'parts').glob('*.png'):
        parts = read_label_png(path)
        mask = read_label_png(root / 'SegmentationClass' / path.name)
        assert set(np.unique(parts)) <= {0, PART_HEAD, PART_BODY}
        assert np.array_equal(parts > 0, (mask > 0) & (mask != 255))
        for cls in np.unique(mask[(mask > 0) & (mask != 255)]):
            obj = mask == cls
            share = (parts[obj] == PART_HEAD).sum() / obj.sum()
            assert low <= share <= high, f'{path.name} class {cls}: head share {share:.3f}'


def test_background_carries_no_head_colours(demo):
    """Heads are the only saturated, bright pixels: clutter never imitates them."""
    root, _ = demo
    for path in list((root / 'parts').glob('*.png'))[:6]:
        parts = read_label_png(path)
        rgb = np.asarray(Image.open(root / 'JPEGImages' / f'{path.stem}.jpg'), np.float64) / 255
        saturation = (rgb.max(2) - rgb.min(2)) / (rgb.max(2) + 1e-6)
        vivid = (saturation > 0.7) & (rgb.max(2) > 0.7)
        away = parts == 0
        assert vivid[away].mean() < 0.002


def test_ignore_border(tmp_path):
    """255 marks a band along label edges; elsewhere the mask is the exact one."""
    from scipy import ndimage
    generate_demo_dataset(tmp_path / 'exact', seed=1, num_train=2, num_val=0)
    generate_demo_dataset(tmp_path / 'band', seed=1, num_train=2, num_val=0, ignore_border=2)
    for name in ('train_00000.png', 'train_00001.png'):
        exact = read_label_png(tmp_path / 'exact' / 'SegmentationClass' / name)
        band = read_label_png(tmp_path / 'band' / 'SegmentationClass' / name)
        ignored = band == 255
        assert ignored.any() and np.array_equal(band[~ignored], exact[~ignored])
        edge = ndimage.maximum_filter(exact, 5) != ndimage.minimum_filter(exact, 5)
        assert np.array_equal(ignored, edge)


def test_deterministic_and_seed_dependent(tmp_path):
    a, b, c = tmp_path / 'a', tmp_path / 'b', tmp_path / 'c'
    generate_demo_dataset(a, seed=7, num_train=4, num_val=2)
    generate_demo_dataset(b, seed=7, num_train=4, num_val=2)
    generate_demo_dataset(c, seed=8, num_train=4, num_val=2)
    assert _digests(a) == _digests(b)
    images_a = {k: v for k, v in _digests(a).items() if k.startswith('JPEGImages')}
    images_c = {k: v for k, v in _digests(c).items() if k.startswith('JPEGImages')}
    assert images_a.keys() == images_c.keys()
    assert all(images_a[k] != images_c[k] for k in images_a)


def test_regenerate_overwrites_and_drops_stale_files(tmp_path):
    generate_demo_dataset(tmp_path, seed=0, num_train=5, num_val=2)
    first = _digests(tmp_path)
    generate_demo_dataset(tmp_path, seed=0, num_train=3, num_val=1)
    assert sorted(p.stem for p in (tmp_path / 'JPEGImages').glob('*.jpg')) == \
        ['train_00000', 'train_00001', 'train_00002', 'val_00000']
    # An image depends only on (seed, split, index), not on the counts.
    assert _digests(tmp_path)['JPEGImages/train_00001.jpg'] == first['JPEGImages/train_00001.jpg']
    _, labels = read_labels_json(tmp_path / 'labels.json')
    assert len(labels) == 4


def test_refuses_foreign_folder(tmp_path):
    (tmp_path / 'notes.txt').write_text('not a demo folder')
    with pytest.raises(DatasetError, match='not a demo dataset'):
        generate_demo_dataset(tmp_path, num_train=1, num_val=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['notes.txt']


def test_cli(tmp_path):
    out = tmp_path / 'demo'
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'prepare_demo_data.py'), '--out', str(out),
         '--seed', '2', '--num-train', '3', '--num-val', '1'],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'wrote demo dataset' in result.stdout and '3 train + 1 val' in result.stdout
    assert len(read_split_list(out / 'ImageSets/Segmentation/train.txt')) == 3

    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'x.txt').write_text('x')
    refused = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'prepare_demo_data.py'), '--out',
         str(tmp_path / 'other'), '--num-train', '1', '--num-val', '0'],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and 'not a demo dataset' in refused.stderr
