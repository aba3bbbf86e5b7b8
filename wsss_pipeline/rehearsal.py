"""A rehearsal of the VOC and COCO pipelines before a GPU run (``tools/rehearse.py``).

``configs/pipeline/voc.py`` and ``configs/pipeline/coco.py`` run end to end, to
``results.md``, with their real model configs (ResNet-50 stage 1, DeepLabV2
ResNet-101 stage 2). Only what ``--cfg-options`` of ``tools/run_pipeline.py``
carries is changed (``rehearsal_options``): schedule length, map and test
scales, batch size, image and crop size, and loader workers. The inputs:

* a tiny VOC-layout folder (``build_tiny_voc``) and a tiny COCO 2014 layout
  (``build_tiny_coco``) made of real VOC/COCO photographs and their
  annotations from ``../shared/data/real``, every image scaled to a long side
  of ``image_size`` pixels (masks with nearest neighbour, polygons scaled);
* ImageNet-format ResNet-50/101 checkpoints with random values, laid out and
  named as torchvision's published V1 files (``write_random_v1_checkpoint``),
  in a hub folder the run's ``$TORCH_HOME`` points at, so the weights are
  found exactly as on the real machine.

Sized for a 2-core CPU (64 px, one epoch / two iterations per stage, one
map scale); the numbers it reports mean nothing: it checks the wiring.
"""
import contextlib
import copy
import json
import os
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image

from wsss_core.classes import VOC_CLASSES
from wsss_core.errors import UserError
from wsss_core.io import atomic_path, read_label_png, write_json, write_label_png, write_lines
from wsss_core.torchvision_weights import PUBLISHED_V1_FILES

from .run import run_pipeline
from .settings import REPO

PIPELINES = {'voc': 'configs/pipeline/voc.py', 'coco': 'configs/pipeline/coco.py'}
# Every method each pipeline config defines.
REHEARSAL_METHODS = {'voc': ['cam', 'bas', 'icl', 'bas_icl'], 'coco': ['cam', 'bas']}
IMAGE_SIZE = 64


class RehearsalError(UserError, FileNotFoundError):
    """The real samples the rehearsal is built from are missing."""


# -- weights -------------------------------------------------------------------

def random_v1_state_dict(arch, seed=0):
    """A torchvision ResNet state dict with random values, laid out like the
    published V1 files: the ImageNet ``fc`` head included, no BatchNorm
    ``num_batches_tracked`` buffers (they predate them).

    Random is not arbitrary, though: an ImageNet file's features are of a size
    that its recipes' learning rates expect, and its BatchNorm statistics
    match its weights. So the residual branches start at zero
    (torchvision's ``zero_init_residual``: the features stay of ImageNet's
    order, where plain random blocks add up to ~20x larger ones, on which
    IRN's classifier LR of 1.0 diverged in one step), and the BatchNorm
    statistics are measured on noise images through these weights (with
    the initial 0/1, frozen BatchNorm, as in IRN's CAM backbone and in
    DeepLab, lets activations grow by orders of magnitude)."""
    torch.manual_seed(seed)
    network = getattr(torchvision.models, arch)(weights=None, zero_init_residual=True)
    for module in network.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None   # the plain average of what it sees
    network.train()
    with torch.no_grad():
        network(torch.randn(8, 3, 64, 64))
    state = network.state_dict()
    return {k: v for k, v in state.items() if not k.endswith('num_batches_tracked')}


def write_random_v1_checkpoint(arch, hub_dir, seed=0):
    """``hub_dir/checkpoints/<torchvision's V1 file name>``, random values; returns the path."""
    path = Path(hub_dir) / 'checkpoints' / PUBLISHED_V1_FILES[arch][0]
    if not path.is_file():
        with atomic_path(path) as tmp:
            torch.save(random_v1_state_dict(arch, seed), tmp)
    return path


# -- data ------------------------------------------------------------------------

def _scaled_size(width, height, long_side):
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale)), scale


def _write_image(path, image):
    with atomic_path(path) as tmp:
        image.save(tmp, format='JPEG', quality=95)


def _voc_samples(real_root):
    """[(id, image path, class-index mask path)] of the real VOC photographs with masks."""
    icevision = real_root / 'icevision' / 'samples' / 'voc'
    labelme = real_root / 'labelme' / 'examples' / 'instance_segmentation' / 'data_dataset_voc'
    vainf = real_root / 'vainf-deeplabv3plus' / 'VOClike'
    train = [('2007_000063', icevision / 'JPEGImages' / '2007_000063.jpg',
              icevision / 'SegmentationClass' / '2007_000063.png')]
    train += [(i, labelme / 'JPEGImages' / f'{i}.jpg', labelme / 'SegmentationClass' / f'{i}.png')
              for i in ('2011_000003', '2011_000006', '2011_000025')]
    val = [(p.stem, p, vainf / 'SegmentationClass' / p.name)
           for p in sorted((vainf / 'JPEGImages').glob('*.png'))]
    for _, image, mask in train + val:
        if not (image.is_file() and mask.is_file()):
            raise RehearsalError(f'{image} or {mask} missing: the rehearsal is built from '
                                 f'the real samples in {real_root} (../shared/data/real).')
    return train, val


def _voc_xml(image_id, width, height, class_indices):
    root = ET.Element('annotation')
    ET.SubElement(root, 'filename').text = f'{image_id}.jpg'
    size = ET.SubElement(root, 'size')
    for key, value in (('width', width), ('height', height), ('depth', 3)):
        ET.SubElement(size, key).text = str(value)
    for index in class_indices:
        ET.SubElement(ET.SubElement(root, 'object'), 'name').text = VOC_CLASSES[index - 1]
    return ET.tostring(root, encoding='unicode')


def build_tiny_voc(real_root, out, image_size=IMAGE_SIZE, num_val=2):
    """A VOC2012-layout folder at ``out`` from the real VOC samples.

    ``train`` (with GT) is the four real VOC train photographs (2007_000063 with
    its official mask, three 2011 images with labelme's masks), ``train_aug``
    those plus the VOC val photographs of the DeepLabV3+ samples that ``val``
    (``num_val`` of them, official GT) does not use. Image-level labels are
    written as Annotations XML from the classes each mask holds.
    """
    real_root, out = Path(real_root), Path(out)
    train, val_pool = _voc_samples(real_root)
    val, extra = val_pool[:num_val], val_pool[num_val:num_val + len(train)]
    splits = {'train': [s[0] for s in train], 'train_aug': [s[0] for s in train + extra],
              'val': [s[0] for s in val]}
    for image_id, image_path, mask_path in train + val + extra:
        with Image.open(image_path) as image:
            image = image.convert('RGB')
        width, height, _ = _scaled_size(image.width, image.height, image_size)
        _write_image(out / 'JPEGImages' / f'{image_id}.jpg',
                     image.resize((width, height), Image.BICUBIC))
        mask = Image.fromarray(read_label_png(mask_path)).resize((width, height), Image.NEAREST)
        mask = np.asarray(mask, dtype=np.uint8)
        write_label_png(out / 'SegmentationClass' / f'{image_id}.png', mask)
        classes = sorted(int(c) for c in np.unique(mask) if 0 < c < 255)
        with atomic_path(out / 'Annotations' / f'{image_id}.xml') as tmp:
            Path(tmp).write_text(_voc_xml(image_id, width, height, classes))
    for name, ids in splits.items():
        write_lines(out / 'ImageSets' / 'Segmentation' / f'{name}.txt', ids)
    return {name: len(ids) for name, ids in splits.items()}


def _coco_sources(real_root):
    """{split: [(image folder, instances JSON, which images: 'annotated' | 'unannotated')]}."""
    tinycoco = real_root / 'super-gradients' / 'tests' / 'data' / 'tinycoco'
    icevision = real_root / 'icevision' / 'samples'
    # tinycoco's folder names are swapped against COCO's (README of ../shared/data/real);
    # which COCO split a photograph came from does not matter here. icevision adds an
    # image without any annotation (000000000089), as COCO lists some.
    sources = {'train2014': [(tinycoco / 'images' / 'train2017',
                              tinycoco / 'annotations' / 'instances_train2017.json', 'annotated'),
                             (icevision / 'images', icevision / 'annotations.json',
                              'unannotated')],
               'val2014': [(tinycoco / 'images' / 'val2017',
                            tinycoco / 'annotations' / 'instances_val2017.json', 'annotated')]}
    for entries in sources.values():
        for folder, ann_file, _ in entries:
            if not (folder.is_dir() and ann_file.is_file()):
                raise RehearsalError(f'{folder} or {ann_file} missing: the rehearsal is built '
                                     f'from the real samples in {real_root}.')
    return sources


def _scaled_annotation(ann, height, width, scale, new_height, new_width):
    """``ann`` at the new image size: polygons scaled, RLE masks resampled."""
    from pycocotools import mask as mask_utils
    ann = copy.deepcopy(ann)
    if isinstance(ann['segmentation'], list):
        ann['segmentation'] = [[round(v * scale, 2) for v in polygon]
                               for polygon in ann['segmentation']]
    else:
        rle = ann['segmentation']
        if isinstance(rle['counts'], list):
            rle = mask_utils.frPyObjects(rle, height, width)
        mask = Image.fromarray(mask_utils.decode(rle) * 255).resize(
            (new_width, new_height), Image.NEAREST)
        encoded = mask_utils.encode(np.asfortranarray(np.asarray(mask) > 127, dtype=np.uint8))
        ann['segmentation'] = {'size': encoded['size'], 'counts': encoded['counts'].decode()}
    ann['bbox'] = [round(v * scale, 2) for v in ann['bbox']]
    ann['area'] = float(ann['area']) * scale * scale
    return ann


def build_tiny_coco(real_root, out, image_size=IMAGE_SIZE, num_train=8, num_val=2):
    """A COCO 2014 layout at ``out`` (``train2014/``, ``val2014/``,
    ``annotations/instances_*2014.json``) from real COCO photographs and their
    instance annotations: ``num_train`` annotated train images plus one without
    annotations, ``num_val`` val images, all 80 categories listed."""
    real_root, out = Path(real_root), Path(out)
    counts = {}
    for split, entries in _coco_sources(real_root).items():
        images, annotations, categories = [], [], None
        wanted = num_train if split == 'train2014' else num_val
        for folder, ann_file, which in entries:
            data = json.loads(ann_file.read_text())
            categories = categories or data['categories']
            by_image = {}
            for ann in data['annotations']:
                by_image.setdefault(ann['image_id'], []).append(ann)
            records = sorted(data['images'], key=lambda r: r['id'])
            chosen = [r for r in records if r['id'] in by_image][:wanted] \
                if which == 'annotated' else [r for r in records if r['id'] not in by_image][:1]
            for record in chosen:
                with Image.open(folder / record['file_name']) as image:
                    image = image.convert('RGB')
                width, height, scale = _scaled_size(image.width, image.height, image_size)
                file_name = f'COCO_{split}_{record["id"]:012d}.jpg'
                _write_image(out / split / file_name, image.resize((width, height), Image.BICUBIC))
                images.append({'id': record['id'], 'file_name': file_name, 'width': width,
                               'height': height})
                annotations += [_scaled_annotation(a, record['height'], record['width'], scale,
                                                   height, width)
                                for a in by_image.get(record['id'], [])]
        write_json(out / 'annotations' / f'instances_{split}.json',
                   {'images': images, 'annotations': annotations, 'categories': categories})
        counts[split] = len(images)
    return counts


# -- options ------------------------------------------------------------------------

def rehearsal_options(pipeline, image_size=IMAGE_SIZE, device=None):
    """``--cfg-options`` of ``tools/run_pipeline.py`` for a rehearsal of ``pipeline``."""
    crop = image_size
    loader = {'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False}
    stage1 = {**loader, 'train_dataloader.batch_size': 4, 'train_cfg.max_epochs': 1,
              'pseudo_label.scales': [1.0], 'default_hooks.logger.interval': 1}
    # IRN's augmentation (CAM, ICL on VOC): long side low..high, flip, crop.
    irn_aug = {'train_dataloader.dataset.pipeline.0.low': image_size * 3 // 4,
               'train_dataloader.dataset.pipeline.0.high': image_size * 5 // 4,
               'train_dataloader.dataset.pipeline.2.size': crop}
    # BAS-Extension's (and the COCO configs'): square resize, flip, crop.
    bas_aug = {'train_dataloader.dataset.pipeline.0.size': image_size,
               'train_dataloader.dataset.pipeline.2.size': crop * 7 // 8}
    per_method = {'voc': {'cam': irn_aug, 'icl': irn_aug, 'bas': bas_aug, 'bas_icl': bas_aug},
                  'coco': {'cam': bas_aug, 'bas': bas_aug}}[pipeline]
    iters = 2
    stage2 = {'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters,
              'default_hooks.checkpoint.interval': iters, 'default_hooks.logger.interval': 1,
              'param_scheduler.0.end': iters, 'train_dataloader.batch_size': 2,
              'train_dataloader.dataset.pipeline.3.crop_size': (crop, crop),
              'model.data_preprocessor.size': (crop, crop)}
    for loader_name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        stage2[f'{loader_name}.num_workers'] = 0
        stage2[f'{loader_name}.persistent_workers'] = False
    options = {'stage1_cfg_options': stage1, 'stage2_cfg_options': stage2,
               'test_protocols.1.scales': [0.75, 1.0], 'figures.num_images': 2}
    for method, augmentation in per_method.items():
        options[f'stage1_cfg_options_{method}'] = dict(augmentation)
    if device is not None:
        options['pseudo_label_device'] = device
    return options


def _option_text(value):
    if isinstance(value, (list, tuple)):
        inner = ','.join(_option_text(v) for v in value)
        return f'[{inner}]' if isinstance(value, list) else f'({inner},)' if len(value) == 1 \
            else f'({inner})'
    return str(value)


def command_line(pipeline, work_dir, data_root, torch_home, methods, options):
    """The ``tools/run_pipeline.py`` command that does what ``rehearse`` runs."""
    flat = []
    for key, value in options.items():
        if isinstance(value, dict):
            flat += [(f'{key}.{k}', v) for k, v in value.items()]
        else:
            flat.append((key, value))
    words = [f'TORCH_HOME={torch_home}', 'python3', 'tools/run_pipeline.py', PIPELINES[pipeline],
             '--work-dir', str(work_dir), '--data-root', str(data_root),
             '--methods', ','.join(methods), '--cfg-options']
    words += [f'{key}={_option_text(value)}' for key, value in flat]
    return ' '.join(shlex.quote(word) for word in words)


@contextlib.contextmanager
def torch_home(path):
    """``$TORCH_HOME`` for the block (torch's hub cache, where the weights are looked up)."""
    previous = os.environ.get('TORCH_HOME')
    os.environ['TORCH_HOME'] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop('TORCH_HOME', None)
        else:
            os.environ['TORCH_HOME'] = previous


def prepare_rehearsal(real_root, out, image_size=IMAGE_SIZE):
    """Data and weights under ``out``; returns their paths."""
    out = Path(out)
    voc, coco = out / 'data' / 'VOC2012', out / 'data' / 'coco'
    build_tiny_voc(real_root, voc, image_size)
    build_tiny_coco(real_root, coco, image_size)
    home = out / 'torch'
    weights = [write_random_v1_checkpoint(arch, home / 'hub', seed)
               for seed, arch in enumerate(('resnet50', 'resnet101'))]
    return {'torch_home': home, 'weights': weights, 'voc': voc, 'coco': coco}


def rehearse(real_root, out, pipelines=('voc', 'coco'), methods=None, device=None,
             workers=1, image_size=IMAGE_SIZE):
    """Build the rehearsal inputs under ``out`` and run each pipeline to
    ``out/<pipeline>/results.md``; returns {pipeline: results dict}."""
    unknown = [p for p in pipelines if p not in PIPELINES]
    if unknown:
        raise RehearsalError(f'unknown pipeline(s) {unknown}: choose from {sorted(PIPELINES)}')
    paths = prepare_rehearsal(real_root, out, image_size)
    results = {}
    for pipeline in pipelines:
        chosen = list(methods or REHEARSAL_METHODS[pipeline])
        options = rehearsal_options(pipeline, image_size, device)
        work_dir = Path(out) / pipeline
        print('== rehearsal, the same as:\n' + command_line(
            pipeline, work_dir, paths[pipeline], paths['torch_home'], chosen, options),
            flush=True)
        with torch_home(paths['torch_home']):
            results[pipeline] = run_pipeline(str(REPO / PIPELINES[pipeline]), work_dir,
                                             methods=chosen, data_root=paths[pipeline],
                                             workers=workers, cfg_options=options)
    return results
