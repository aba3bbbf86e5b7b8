"""A box-labelled demo set in CUB-200-2011 layout, from the demo generator.

Every image holds exactly one object of one of the 6 demo classes (large
body, small discriminative head; see ``stage1_cam/datasets/demo.py``) on the
generator's cluttered background (head-less decoy bodies included). The
object is placed and painted by the generator's own functions; only the
class choice differs (one class, one object, classes in turn). Its box is
the bounding box of the object's visible pixels, written to
``bounding_boxes.txt`` as x, y, width, height with width = x2 - x1 (so the
CUB reading x1, y1, x1 + width, y1 + height gives the inclusive pixel box).

Written files (read by ``CUBSource`` exactly as a real CUB folder)::

    images/<NNN.class>/<class>_<split>_<index>.jpg
    images.txt  image_class_labels.txt  bounding_boxes.txt
    train_test_split.txt  classes.txt  meta.json

Same arguments give the same files; re-running into a folder made here
regenerates it; any other non-empty folder is refused.
"""
import shutil
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from tqdm import tqdm

from wsss_core.io import atomic_path, read_json, write_json, write_lines

from ..datasets import demo
from ..datasets.base import DatasetError

GENERATOR_NAME = 'stage1_cam.wsol.demo_boxes'
GENERATOR_VERSION = 1
# Seeds apart from the segmentation demo's (codes 0, 1), so images differ.
_SPLIT_CODES = {'train': 10, 'test': 11}


def render_single_object(rng, cls, image_size=(128, 128), decoy_rate=1.0):
    """(rgb uint8 HxWx3, object mask bool HxW) with one object of class ``cls`` (1..6)."""
    shape = (int(image_size[0]), int(image_size[1]))
    canvas = demo._background(rng, shape, decoy_rate)
    objects = []
    while not objects:
        objects = demo._place_objects(rng, shape, [cls])
    (_, head, body), = objects
    style = demo._CLASS_STYLE[demo.DEMO_CLASSES[cls - 1]]
    demo._paint(canvas, body, demo._body_field(rng, shape, style))
    demo._paint(canvas, head, demo._head_field(rng, shape, style, head))
    # The generator's camera finish (render_demo_image): blur, gain, noise.
    canvas = ndimage.gaussian_filter(canvas, (0.6, 0.6, 0))
    canvas = canvas * rng.uniform(0.85, 1.15) + rng.normal(0, 0.025, canvas.shape)
    rgb = (np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8)
    return rgb, head | body


def mask_box_xywh(mask):
    """x, y, width, height with width = x2 - x1 (inclusive pixel ends)."""
    rows, cols = np.nonzero(mask)
    return (int(cols.min()), int(rows.min()), int(cols.max() - cols.min()),
            int(rows.max() - rows.min()))


def _is_ours(out_dir):
    meta = out_dir / 'meta.json'
    try:
        return meta.is_file() and read_json(meta).get('generator') == GENERATOR_NAME
    except (ValueError, AttributeError):
        return False


def generate_demo_boxes(out_dir, seed=0, num_train=300, num_test=100, image_size=(128, 128),
                        progress=False):
    """Write the set to ``out_dir`` (CUB layout); return its meta dict."""

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DatasetError(f'{out_dir} exists and is not a folder; choose another --out.')
    if out_dir.is_dir() and any(out_dir.iterdir()) and not _is_ours(out_dir):
        raise DatasetError(f'{out_dir} is not empty and is not a demo-boxes folder (no meta.json '
                           'of this generator); choose an empty or new folder.')
    if num_train < 1 or num_test < 1:
        raise DatasetError(f'need num_train >= 1 and num_test >= 1, got {num_train}, {num_test}')
    started = time.perf_counter()
    meta = {'generator': GENERATOR_NAME, 'generator_version': GENERATOR_VERSION,
            'seed': int(seed), 'num_train': int(num_train), 'num_test': int(num_test),
            'image_size': [int(image_size[0]), int(image_size[1])],
            'class_names': list(demo.DEMO_CLASSES), 'complete': False}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / 'meta.json', meta)
    shutil.rmtree(out_dir / 'images', ignore_errors=True)  # a previous run's files

    folders = [f'{c:03d}.{name}' for c, name in enumerate(demo.DEMO_CLASSES, 1)]
    images, labels, boxes, splits = [], [], [], []
    jobs = [(split, index) for split, count in (('train', num_train), ('test', num_test))
            for index in range(count)]
    for image_id, (split, index) in enumerate(tqdm(jobs, desc='demo boxes', disable=not progress),
                                              1):
        cls = index % len(demo.DEMO_CLASSES) + 1
        rng = np.random.default_rng([int(seed), _SPLIT_CODES[split], index])
        rgb, mask = render_single_object(rng, cls, image_size)
        relative = f'{folders[cls - 1]}/{demo.DEMO_CLASSES[cls - 1]}_{split}_{index:05d}.jpg'
        path = out_dir / 'images' / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            Image.fromarray(rgb, mode='RGB').save(tmp, format='JPEG', quality=90)
        images.append(f'{image_id} {relative}')
        labels.append(f'{image_id} {cls}')
        x, y, w, h = mask_box_xywh(mask)
        boxes.append(f'{image_id} {x:.1f} {y:.1f} {w:.1f} {h:.1f}')
        splits.append(f'{image_id} {1 if split == "train" else 0}')
    write_lines(out_dir / 'classes.txt', [f'{c} {f}' for c, f in enumerate(folders, 1)])
    write_lines(out_dir / 'images.txt', images)
    write_lines(out_dir / 'image_class_labels.txt', labels)
    write_lines(out_dir / 'bounding_boxes.txt', boxes)
    write_lines(out_dir / 'train_test_split.txt', splits)
    meta['complete'] = True
    write_json(out_dir / 'meta.json', meta)
    meta['seconds'] = round(time.perf_counter() - started, 2)
    return meta
