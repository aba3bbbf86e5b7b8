"""COCO instances JSON -> the files the WSSS pipeline reads (``tools/prepare_coco.py``).

For each split S (``train2014``, ``val2014``; any ``annotations/instances_S.json``)
the output folder OUT (never inside the COCO root) gets::

    categories.json                 label 1..C <-> COCO category id <-> name (0 = background)
    labels_S.json                   labels JSON (base.py contract) of the annotated images
    S.txt                           ids (file stems) with at least one annotation
    S_unannotated.txt               ids without any annotation: no label, no GT PNG,
                                    never trained on or evaluated
    SegmentationClass/S/<id>.png    semantic GT, for the splits in ``gt_splits``
                                    (default val2014): VOC palette, 0 background,
                                    1..C, 255 ignore
    prepare_coco.json               settings, counts and completeness per split

Semantic GT rules (``render_semantic_mask``):

* every non-crowd instance is rasterised with pycocotools (polygons, RLE);
* overlaps: instances are painted in order of decreasing area (area = pixels of
  the rendered mask), ties by increasing annotation id, so the smaller
  instance ends on top (of equal ones, the higher id);
* crowd regions (``iscrowd=1``) only touch pixels no non-crowd instance covers:
  ``crowd='ignore'`` (default) makes them 255, as their class is present but
  its extent is unreliable; ``crowd='background'`` leaves them 0.

PNGs are written atomically by a pool of worker processes fed a bounded
number of images; finished PNGs are skipped, so a killed run re-run with the
same command completes the rest. Changing the crowd mode of a folder needs
``overwrite=True``.
"""
import logging
import multiprocessing
import os
import time
from collections import deque
from pathlib import Path

from tqdm import tqdm

from wsss_core.io import (read_json, remove_stale_temp_files, write_json, write_label_png,
                          write_lines)

from .base import DatasetError, write_labels_json
# CROWD_MODES, annotation_mask: imported by tools/prepare_coco.py and the tests from here.
from .coco_masks import CROWD_MODES, annotation_mask, render_semantic_mask  # noqa: F401
from .coco import (CATEGORIES_FILE, GT_FOLDER, contiguous_categories, image_labels,
                   image_records, instances_file, labels_file_name, load_coco, split_list_name)

logger = logging.getLogger(__name__)

PREPARE_VERSION = 1
MANIFEST_FILE = 'prepare_coco.json'
DEFAULT_SPLITS = ('train2014', 'val2014')
DEFAULT_GT_SPLITS = ('val2014',)
OVERLAP_RULE = ('non-crowd instances painted by decreasing pixel area, ties by increasing '
                'annotation id (smaller instance on top); crowd regions only on pixels no '
                'non-crowd instance covers')


# -- worker pool -----------------------------------------------------------------

_WORKER = {}


def _init_worker(cat_id_to_label, crowd):
    _WORKER.update(cat_id_to_label=cat_id_to_label, crowd=crowd)


def _render_batch(batch):
    """Worker: render and write a batch of images; errors are returned, not raised."""
    results = []
    for image_id, height, width, anns, path in batch:
        try:
            label = render_semantic_mask(anns, height, width, _WORKER['cat_id_to_label'],
                                         _WORKER['crowd'])
            write_label_png(path, label)
            results.append((image_id, None))
        except Exception as err:  # reported per image; the run goes on
            results.append((image_id, f'{type(err).__name__}: {err}'))
    return results


def _batches(tasks, size):
    batch = []
    for task in tasks:
        batch.append(task)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def render_gt_pngs(tasks, cat_id_to_label, crowd, workers=0, total=None, progress=True,
                   desc='GT masks', batch_size=16):
    """Render ``tasks`` (image_id, height, width, anns, png path); return {id: error}.

    At most ``2 x workers`` batches are in flight, so memory stays bounded
    however long the split."""
    failed = {}
    bar = tqdm(total=total, desc=desc, unit='img', disable=not progress, dynamic_ncols=True)

    def collect(results):
        for image_id, error in results:
            if error is not None:
                failed[image_id] = error
                logger.error('GT mask of %s failed: %s', image_id, error)
        bar.update(len(results))

    try:
        if workers <= 0:
            _init_worker(cat_id_to_label, crowd)
            for batch in _batches(tasks, batch_size):
                collect(_render_batch(batch))
            return failed
        with multiprocessing.get_context('fork').Pool(
                workers, initializer=_init_worker, initargs=(cat_id_to_label, crowd)) as pool:
            pending = deque()
            for batch in _batches(tasks, batch_size):
                pending.append(pool.apply_async(_render_batch, (batch,)))
                while len(pending) >= 2 * workers or (pending and pending[0].ready()):
                    collect(pending.popleft().get())
            while pending:
                collect(pending.popleft().get())
        return failed
    finally:
        bar.close()


# -- one split -------------------------------------------------------------------

def check_outside(out_dir, coco_root):
    """The COCO root is read-only input, often shared: nothing is written there."""
    out_resolved, root_resolved = Path(out_dir).resolve(), Path(coco_root).resolve()
    if out_resolved == root_resolved or out_resolved.is_relative_to(root_resolved):
        raise DatasetError(f'refusing to write {out_dir} inside the COCO root {coco_root}; '
                           'choose an output folder outside it (e.g. data/coco_wsss beside '
                           'data/coco).')


def _check_categories(out_dir, categories, ann_file):
    """Every split of one folder must number classes the same way."""
    path = Path(out_dir) / CATEGORIES_FILE
    if path.is_file():
        old = read_json(path).get('categories')
        if old != categories:
            raise DatasetError(
                f'{ann_file} defines other categories than {path} (written from another '
                'annotation file); prepare each dataset into its own --out folder.')
        return
    write_json(path, {'background': 0, 'categories': categories,
                      'note': 'label = index in class_names + 1; categories sorted by COCO id'})


def prepare_split(coco_root, out_dir, split, render_gt, crowd='ignore', workers=0,
                  overwrite=False, progress=True):
    """Labels, id lists and (``render_gt``) GT PNGs of one split; returns its summary."""
    ann_file = instances_file(coco_root, split)
    started = time.perf_counter()
    logger.info('reading %s', ann_file)
    coco = load_coco(ann_file)
    categories = contiguous_categories(coco, ann_file)
    if len(categories) != 80:
        logger.warning('%s has %d categories (COCO has 80); labels are 1..%d.', ann_file,
                       len(categories), len(categories))
    _check_categories(out_dir, categories, ann_file)
    cat_id_to_label = {c['category_id']: c['label'] for c in categories}
    labels, unannotated, records = {}, [], image_records(coco, ann_file)
    for image_id, image in records:
        image_classes = image_labels(coco, image['id'], cat_id_to_label, ann_file)
        if image_classes:
            labels[image_id] = image_classes
        else:
            unannotated.append(image_id)
    out_dir = Path(out_dir)
    write_labels_json(out_dir / labels_file_name(split), [c['name'] for c in categories], labels)
    write_lines(out_dir / split_list_name(split), list(labels))
    write_lines(out_dir / split_list_name(split, unannotated=True), unannotated)
    summary = {'annotation_file': str(ann_file.resolve()), 'images': len(records),
               'annotated': len(labels), 'unannotated': len(unannotated),
               'annotations': len(coco.dataset.get('annotations', [])),
               'crowd_annotations': sum(1 for a in coco.dataset.get('annotations', [])
                                        if a.get('iscrowd', 0)),
               'gt': None, 'complete': True}
    if render_gt:
        gt_dir = out_dir / GT_FOLDER / split
        gt_dir.mkdir(parents=True, exist_ok=True)
        removed = remove_stale_temp_files(gt_dir)   # of a killed run; never final PNGs
        if removed:
            logger.info('removed %d temporary file(s) of an interrupted run in %s', removed, gt_dir)
        todo = [(image_id, image) for image_id, image in records
                if image_id in labels and (overwrite or not (gt_dir / f'{image_id}.png').is_file())]
        logger.info('%s: %d of %d GT masks to render (%d already done)', split, len(todo),
                    len(labels), len(labels) - len(todo))
        tasks = ((image_id, image['height'], image['width'],
                  [{k: a[k] for k in ('id', 'image_id', 'category_id', 'iscrowd', 'segmentation')
                    if k in a} for a in coco.imgToAnns.get(image['id'], [])],
                  gt_dir / f'{image_id}.png') for image_id, image in todo)
        failed = render_gt_pngs(tasks, cat_id_to_label, crowd, workers=workers, total=len(todo),
                                progress=progress, desc=f'{split} GT')
        summary['gt'] = {'folder': str(gt_dir.relative_to(out_dir)), 'crowd': crowd,
                         'written': len(todo) - len(failed),
                         'skipped_existing': len(labels) - len(todo), 'failed': failed}
        summary['complete'] = not failed
    summary['seconds'] = round(time.perf_counter() - started, 2)
    return summary


def _check_manifest(manifest, splits, gt_splits, crowd, overwrite):
    """A folder's GT PNGs were rendered under one crowd mode; mixing is refused."""
    for split in set(splits) & set(gt_splits):
        old = (manifest.get('splits', {}).get(split) or {}).get('gt') or {}
        if old.get('crowd') not in (None, crowd) and not overwrite:
            raise DatasetError(
                f'{split} GT masks in this folder were rendered with --crowd {old["crowd"]}, '
                f'not {crowd}; pass --overwrite to re-render them, or choose another --out.')


def prepare_coco(coco_root, out_dir, splits=DEFAULT_SPLITS, gt_splits=DEFAULT_GT_SPLITS,
                 crowd='ignore', workers=None, overwrite=False, progress=True):
    """Prepare ``splits`` of the COCO root into ``out_dir``; returns the manifest.

    ``gt_splits``: the splits (of ``splits``) whose semantic GT PNGs are rendered.
    ``workers``: rendering processes (default: the CPU count; 0 = this process).
    """
    coco_root, out_dir = Path(coco_root), Path(out_dir)
    if not coco_root.is_dir():
        raise DatasetError(f'COCO root not found: {coco_root}. Pass the folder holding '
                           'annotations/instances_<split>.json (and train2014/, val2014/).')
    check_outside(out_dir, coco_root)
    if crowd not in CROWD_MODES:
        raise DatasetError(f'--crowd must be one of {", ".join(CROWD_MODES)}, got {crowd!r}')
    unknown = sorted(set(gt_splits) - set(splits))
    if unknown:
        raise DatasetError(f'--gt-splits {" ".join(unknown)} not among --splits '
                           f'{" ".join(splits)}; add them to --splits.')
    missing = [str(instances_file(coco_root, s)) for s in splits
               if not instances_file(coco_root, s).is_file()]
    if missing:
        raise DatasetError(f'annotation file(s) not found: {", ".join(missing)}. Unpack '
                           'annotations_trainval2014.zip into the COCO root, or fix --splits.')
    workers = (os.cpu_count() or 1) if workers is None else workers
    out_dir.mkdir(parents=True, exist_ok=True)
    # temporary files a killed run left beside the outputs (never a final file)
    remove_stale_temp_files(out_dir, {MANIFEST_FILE, CATEGORIES_FILE} | {
        name for s in splits for name in (labels_file_name(s), split_list_name(s),
                                          split_list_name(s, unannotated=True))})
    manifest_path = out_dir / MANIFEST_FILE
    manifest = read_json(manifest_path) if manifest_path.is_file() else {}
    _check_manifest(manifest, splits, gt_splits, crowd, overwrite)
    manifest.update(tool='tools/prepare_coco.py', version=PREPARE_VERSION,
                    coco_root=str(coco_root.resolve()), overlap_rule=OVERLAP_RULE,
                    categories=CATEGORIES_FILE)
    manifest.setdefault('splits', {})
    for split in splits:
        manifest['splits'][split] = {'complete': False}
        write_json(manifest_path, manifest)
        manifest['splits'][split] = prepare_split(
            coco_root, out_dir, split, render_gt=split in gt_splits, crowd=crowd,
            workers=workers, overwrite=overwrite, progress=progress)
        write_json(manifest_path, manifest)
    manifest['complete'] = all(s.get('complete') for s in manifest['splits'].values())
    write_json(manifest_path, manifest)
    return manifest


__all__ = ['prepare_coco', 'prepare_split', 'render_semantic_mask', 'annotation_mask',
           'render_gt_pngs', 'check_outside', 'CROWD_MODES', 'MANIFEST_FILE']
