"""The demo dataset in COCO 2014 layout, for running the COCO pipeline on a CPU.

Images are the demo generator's (``demo.render_demo_image``, same seeding as
``generate_demo_dataset``); annotations are instances-format JSON, so
``tools/prepare_coco.py`` and the COCO configs run on it exactly as on COCO::

    train2014/COCO_train2014_<12-digit id>.jpg
    val2014/COCO_val2014_<12-digit id>.jpg
    annotations/instances_train2014.json, instances_val2014.json
    coco_demo.json                    generator settings (marks the folder as ours)

* categories: the 80 COCO categories (ids 1..90 with gaps); the six demo
  classes are drawn as the COCO categories of ``DEMO_TO_COCO`` (the names are
  only labels: a "dog" here is a demo fox), so class ids, the 81-class
  stage-2 dataset and the id mapping are exercised as on COCO;
* instances: the connected components (8-neighbourhood) of each class in the
  demo label map, as compressed RLE (``pycocotools.mask.encode``);
* every ``crowd_every``-th image (index % crowd_every == 1) with two or more
  instances marks its smallest instance ``iscrowd=1``;
* every ``unannotated_every``-th image (index % unannotated_every ==
  unannotated_every - 1) is listed with no annotation, as COCO lists images
  with no object of its 80 categories.
"""
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from tqdm import tqdm

from wsss_core.io import atomic_path, read_json, write_json

from .base import DatasetError
from .coco import COCO_CATEGORIES
from .demo import DEMO_CLASSES, _SPLIT_CODES, render_demo_image

GENERATOR_NAME = 'stage1_cam.datasets.demo_coco'
META_FILE = 'coco_demo.json'

# Demo class -> COCO category id it is annotated as (ids after gaps on purpose).
DEMO_TO_COCO = {'fox': 18, 'owl': 16, 'frog': 34, 'fish': 42, 'beetle': 74, 'snail': 90}

COCO_SPLIT_NAMES = {'train': 'train2014', 'val': 'val2014'}


def _coco_image_id(split, index):
    """Unique across splits, like COCO's ids."""
    return _SPLIT_CODES[split] * 1_000_000 + index + 1


def _instances(label):
    """[(demo class index, HxW bool mask)] of the label map's connected components."""
    instances = []
    for cls in sorted(int(c) for c in np.unique(label) if c not in (0, 255)):
        components, count = ndimage.label(label == cls, structure=np.ones((3, 3), bool))
        for k in range(1, count + 1):
            instances.append((cls, components == k))
    return instances


def _rle(mask):
    # Imported here: pycocotools is needed for the COCO-format demo only.
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {'size': [int(s) for s in rle['size']], 'counts': rle['counts'].decode('ascii')}


def _bbox(mask):
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
            int(ys.max() - ys.min() + 1)]


def _check_target(out_dir):
    if out_dir.exists() and not out_dir.is_dir():
        raise DatasetError(f'{out_dir} exists and is not a folder; choose another --out.')
    meta = out_dir / META_FILE
    ours = meta.is_file() and read_json(meta).get('generator') == GENERATOR_NAME
    if out_dir.is_dir() and any(out_dir.iterdir()) and not ours:
        raise DatasetError(f'{out_dir} is not empty and is not a COCO demo folder (no '
                           f'{META_FILE}); refusing to write into it. Choose a new folder.')


def generate_coco_demo(out_dir, seed=0, num_train=24, num_val=8, image_size=(96, 96),
                       crowd_every=4, unannotated_every=8, progress=False):
    """Write the COCO-layout demo to ``out_dir``; return its meta dict."""
    out_dir = Path(out_dir)
    _check_target(out_dir)
    if num_train < 1 or num_val < 1:
        raise DatasetError(f'need num_train >= 1 and num_val >= 1, got {num_train}, {num_val}')
    started = time.perf_counter()
    meta = {'generator': GENERATOR_NAME, 'seed': int(seed), 'num_train': int(num_train),
            'num_val': int(num_val), 'image_size': [int(image_size[0]), int(image_size[1])],
            'demo_to_coco': DEMO_TO_COCO, 'crowd_every': crowd_every,
            'unannotated_every': unannotated_every, 'complete': False}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / META_FILE, meta)
    categories = [{'id': cat_id, 'name': name, 'supercategory': ''}
                  for cat_id, name in COCO_CATEGORIES]
    next_ann_id = 1
    for split, count in (('train', num_train), ('val', num_val)):
        coco_split = COCO_SPLIT_NAMES[split]
        images, annotations = [], []
        for index in tqdm(range(count), desc=coco_split, disable=not progress):
            rng = np.random.default_rng([int(seed), _SPLIT_CODES[split], index])
            rgb, label, _ = render_demo_image(rng, image_size)
            image_id = _coco_image_id(split, index)
            file_name = f'COCO_{coco_split}_{image_id:012d}.jpg'
            with atomic_path(out_dir / coco_split / file_name) as tmp:
                Image.fromarray(rgb, mode='RGB').save(tmp, format='JPEG', quality=90)
            images.append({'id': image_id, 'file_name': file_name,
                           'height': int(label.shape[0]), 'width': int(label.shape[1])})
            if index % unannotated_every == unannotated_every - 1:
                continue
            instances = _instances(label)
            crowd = -1
            if index % crowd_every == 1 and len(instances) >= 2:
                crowd = int(np.argmin([mask.sum() for _, mask in instances]))
            for k, (cls, mask) in enumerate(instances):
                annotations.append({
                    'id': next_ann_id, 'image_id': image_id,
                    'category_id': DEMO_TO_COCO[DEMO_CLASSES[cls - 1]],
                    'segmentation': _rle(mask), 'area': int(mask.sum()), 'bbox': _bbox(mask),
                    'iscrowd': int(k == crowd)})
                next_ann_id += 1
        write_json(out_dir / 'annotations' / f'instances_{coco_split}.json',
                   {'info': {'description': 'COCO-format demo (stage1_cam.datasets.demo_coco)'},
                    'images': images, 'annotations': annotations, 'categories': categories})
    meta['complete'] = True
    write_json(out_dir / META_FILE, meta)
    meta['seconds'] = round(time.perf_counter() - started, 2)
    return meta


__all__ = ['generate_coco_demo', 'DEMO_TO_COCO']
