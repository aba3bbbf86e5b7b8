"""Helpers for the stage-2 tests (no tests here): a tiny demo dataset and
pseudo-label folders in stage 1's layout (labels/ + manifest.json)."""
from pathlib import Path

from stage1_cam.datasets.demo import DEMO_CLASSES, generate_demo_dataset
from wsss_core.io import read_label_png, write_json, write_label_png

REPO_ROOT = Path(__file__).resolve().parents[1]

DEMO_CONFIG = str(REPO_ROOT / 'configs' / 'stage2' / 'deeplabv2_mobilenetv2_demo.py')


def make_demo_data(root, num_train=8, num_val=3, image_size=(64, 64)):
    """A small demo dataset (VOC layout) at ``root``."""
    generate_demo_dataset(root, seed=0, num_train=num_train, num_val=num_val,
                          image_size=image_size)
    return Path(root)


def split_ids(data_root, split='train'):
    return (Path(data_root) / 'ImageSets' / 'Segmentation' / f'{split}.txt').read_text().split()


def make_pseudo_labels(data_root, out_dir, split='train', class_names=DEMO_CLASSES,
                       complete=True, skip=(), ignore_border=True):
    """Imitate ``tools/make_pseudo_labels.py``: OUT/labels/<id>.png from the GT
    (with a 255 band where the GT changes, as the CRF step leaves) and
    OUT/manifest.json with stage 1's keys."""
    import numpy as np
    from scipy import ndimage
    out_dir = Path(out_dir)
    ids = split_ids(data_root, split)
    done = []
    for image_id in ids:
        if image_id in skip:
            continue
        label = read_label_png(Path(data_root) / 'SegmentationClass' / f'{image_id}.png')
        if ignore_border:
            edge = ndimage.maximum_filter(label, 3) != ndimage.minimum_filter(label, 3)
            label = np.where(edge, 255, label).astype(np.uint8)
        write_label_png(out_dir / 'labels' / f'{image_id}.png', label)
        done.append(image_id)
    write_json(out_dir / 'manifest.json', {
        'manifest_version': 1, 'method': 'BAS', 'class_names': list(class_names),
        'shard': [0, 1], 'complete': complete, 'num_images': len(ids), 'num_done': len(done),
        'num_failed': 0, 'failed': {}, 'ids_done': sorted(done)})
    return out_dir
