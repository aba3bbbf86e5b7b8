"""The ``prepare`` step: make ``dataset.data_root`` ready for both stages.

* ``demo``: generate the synthetic demo dataset (skipped when the folder
  already holds one made with the same settings);
* ``voc``: check the VOC layout the configs read (images, split lists, the
  ground truth of the scored split); VOC itself is never written into;
* ``coco``: ``tools/prepare_coco.py`` from ``data_root`` (read only) into
  ``data_root + '_wsss'`` (labels, id lists, GT PNGs), as the COCO configs
  expect; resumable;
* ``coco_demo``: the COCO-format demo (generated when missing), then as ``coco``;
* ``folder``: a user's own folder (``own_data.py``): images, labels file, masks and
  split lists checked by building the source of each split; never written into.
"""
from pathlib import Path

from stage1_cam.datasets.coco_prepare import prepare_coco
from stage1_cam.datasets.demo import generate_demo_dataset, is_demo_folder
from stage1_cam.datasets.demo_coco import META_FILE, generate_coco_demo
from stage1_cam.datasets.folder import FolderSource
from wsss_core.dataset_files import DatasetError, read_split_list
from wsss_core.io import read_json


def made_with(meta, settings):
    """True when a generator's meta.json records every one of ``settings``
    (JSON keeps tuples as lists)."""
    return all(meta.get(key) == (list(value) if isinstance(value, tuple) else value)
               for key, value in settings.items())


def prepare_demo(dataset, step_dir, workers, force=False):
    root = Path(dataset.data_root)
    wanted = dict(dataset.get('prepare') or {})
    if is_demo_folder(root) and not force:
        meta = read_json(root / 'meta.json')
        if made_with(meta, wanted):
            return _demo_summary(root, meta, generated=False)
    meta = generate_demo_dataset(root, **wanted)
    return _demo_summary(root, meta, generated=True)


def _demo_summary(root, meta, generated):
    return {'kind': 'demo', 'data_root': str(root), 'changed': generated,
            'num_train': meta['num_train'], 'num_val': meta['num_val'],
            'image_size': meta['image_size'], 'class_names': meta['class_names'],
            'seed': meta['seed']}


def check_voc(dataset, step_dir, workers, force=False):
    root = Path(dataset.data_root)
    if not (root / 'JPEGImages').is_dir():
        raise DatasetError(f'{root} has no JPEGImages/: point dataset.data_root (or --data-root) '
                           'at VOCdevkit/VOC2012 (see README, "PASCAL VOC 2012").')
    splits = {}
    for name in dataset.get('splits', ('train_aug', 'train', 'val')):
        path = root / 'ImageSets' / 'Segmentation' / f'{name}.txt'
        if not path.is_file():
            raise DatasetError(f'{path} missing: VOC split lists go in ImageSets/Segmentation/ '
                               "(train_aug.txt from IRN's voc12/ folder).")
        splits[name] = len(read_split_list(path))
    return {'kind': 'voc', 'data_root': str(root), 'changed': False, 'splits': splits}


def prepare_coco_root(dataset, step_dir, workers, force=False):
    root = Path(dataset.data_root)
    out = Path(dataset.get('prepared_root') or f'{root}_wsss')
    options = dict(dataset.get('prepare') or {})
    manifest = prepare_coco(root, out, workers=workers, overwrite=force,
                            splits=tuple(options.get('splits', ('train2014', 'val2014'))),
                            gt_splits=tuple(options.get('gt_splits', ('train2014', 'val2014'))),
                            crowd=options.get('crowd', 'ignore'))
    return {'kind': dataset.kind, 'data_root': str(root), 'prepared_root': str(out),
            'changed': True,
            'splits': {name: {k: v for k, v in split.items() if not isinstance(v, (list, dict))}
                       for name, split in manifest['splits'].items()}}


def prepare_coco_demo(dataset, step_dir, workers, force=False):
    root = Path(dataset.data_root)
    wanted = dict(dataset.get('generate') or {})
    meta_path = root / META_FILE
    meta = read_json(meta_path) if meta_path.is_file() else {}
    if force or not meta.get('complete') or not made_with(meta, wanted):
        generate_coco_demo(root, **wanted)
    summary = prepare_coco_root(dataset, step_dir, workers, force=force)
    return {**summary, 'generate': wanted}


def check_folder(dataset, step_dir, workers, force=False):
    splits = {}
    for name in dataset.splits:
        source = FolderSource(dataset.data_root, dataset.labels_file, mask_dir=dataset.mask_dir,
                              class_names=dataset.class_names, split=name,
                              splits=dataset.splits)
        splits[name] = len(source.ids)
    return {'kind': 'folder', 'data_root': str(dataset.data_root), 'changed': False,
            'splits': splits, 'class_names': list(dataset.class_names)}


PREPARERS = {'demo': prepare_demo, 'voc': check_voc, 'coco': prepare_coco_root,
             'coco_demo': prepare_coco_demo, 'folder': check_folder}


def prepare_dataset(dataset, step_dir, workers, force=False):
    return PREPARERS[dataset.kind](dataset, step_dir, workers, force=force)
