"""Checks that a label folder can be trained or evaluated on, before any step runs.

Stage 1 writes a pseudo-label folder as::

    OUT/labels/<id>.png        0 background, 1..C classes, 255 uncertain
    OUT/manifest.json          complete, class_names, num_images, num_done, ...
    OUT/manifest.shard-I-of-N.json   (sharded runs, merged into manifest.json
                                      by the last shard to finish)

A folder that is half written (a killed or failed run, shards still running),
made for another class list, or missing labels of the split would otherwise
train silently on the wrong data (mmseg only fails on the first missing file,
possibly hours in). Every error here names the folder and the fix.
"""
import os
from pathlib import Path

from stage1_cam.datasets.base import DatasetError, read_split_list
from stage1_cam.io import read_json

MANIFEST = 'manifest.json'
MAKE_TOOL = 'tools/make_pseudo_labels.py'


class LabelFolderError(ValueError):
    """A label folder that cannot be used; the message says why and what to do."""


def _preview(ids, count=5):
    ids = list(ids)
    shown = ', '.join(ids[:count])
    return shown + (f', ... ({len(ids)} in all)' if len(ids) > count else '')


def find_manifest(ann_dir):
    """``ann_dir/../manifest.json`` when ``ann_dir`` is a pseudo-label ``labels/``
    folder; None for any other folder (ground truth). Refuses a sharded run
    whose shards have not all finished (no merged manifest yet)."""
    ann_dir = Path(ann_dir)
    parent = ann_dir.parent
    if (ann_dir / MANIFEST).is_file() and (ann_dir / 'labels').is_dir():
        raise LabelFolderError(
            f'{ann_dir} is a pseudo-label output folder; point the dataset at its label '
            f'folder {ann_dir / "labels"} (tools/train_seg.py --pseudo-labels {ann_dir} does '
            'this).')
    manifest = parent / MANIFEST
    if manifest.is_file():
        return manifest
    shards = sorted(parent.glob('manifest.shard-*-of-*.json'))
    if shards:
        done = [p.name for p in shards if read_json(p).get('complete')]
        count = read_json(shards[0]).get('shard', [0, len(shards)])[1]
        raise LabelFolderError(
            f'pseudo-label folder {parent} is incomplete: a sharded run with {count} shards, '
            f'{len(done)} finished ({", ".join(done) or "none"}), no merged {MANIFEST} yet. '
            f'Run the remaining shards of {MAKE_TOOL} (the same command with each missing '
            '--shard I/N); the last one to finish writes manifest.json.')
    return None


def check_manifest(manifest_path, ann_dir, class_names):
    """Refuse an incomplete pseudo-label folder or one made for other classes.

    ``class_names``: the dataset's classes, background first (the manifest
    lists the foreground classes only, as the stage-1 image source does).
    Returns the manifest dict.
    """
    manifest_path = Path(manifest_path)
    folder = manifest_path.parent
    try:
        manifest = read_json(manifest_path)
    except ValueError as err:
        raise LabelFolderError(f'{err} The pseudo-label folder {folder} cannot be checked; '
                               f'run {MAKE_TOOL} again to rewrite it.') from None
    if not isinstance(manifest, dict) or 'complete' not in manifest:
        raise LabelFolderError(f'{manifest_path} is not a pseudo-label manifest (no "complete" '
                               f'key); was {folder} written by {MAKE_TOOL}?')
    if not manifest.get('complete'):
        failed = manifest.get('failed') or {}
        hint = (f' {len(failed)} image(s) failed (listed under "failed" in {manifest_path}; '
                'fix the cause and re-run, failed images are retried).') if failed else ''
        raise LabelFolderError(
            f'pseudo-label folder {folder} is incomplete: {manifest.get("num_done", "?")} of '
            f'{manifest.get("num_images", "?")} images labelled ("complete": false in '
            f'{manifest_path}).{hint} Run {MAKE_TOOL} again with the same arguments to '
            'finish it (finished images are skipped), then train.')
    expected = list(class_names[1:])
    found = manifest.get('class_names')
    if found is None or list(found) != expected:
        found = list(found or [])
        raise LabelFolderError(
            f'pseudo-label folder {folder} was made for {len(found)} classes '
            f'({_preview(found, 4)}), but the dataset expects {len(expected)} foreground '
            f'classes plus background ({_preview(expected, 4)}). Use the config of the '
            'matching dataset (VOC: 20 + background, COCO: 80 + background, demo: 6 + '
            f'background), or make the labels again with {MAKE_TOOL} for this dataset.')
    return manifest


def list_labels(ann_dir, suffix):
    """Ids (file stems) of the label files in ``ann_dir``."""
    ann_dir = Path(ann_dir)
    if not ann_dir.is_dir():
        return None
    return {name[:-len(suffix)] for name in os.listdir(ann_dir)
            if name.endswith(suffix) and not name.startswith('.')}


def check_labels_exist(ann_dir, ids, suffix, pseudo):
    """Every id has ``ann_dir/<id><suffix>``; the error lists the missing ones.
    ``pseudo``: whether ``ann_dir`` is a pseudo-label folder (for the advice)."""
    present = list_labels(ann_dir, suffix)
    if present is None:
        raise LabelFolderError(
            f'label folder {ann_dir} not found. Pseudo-labels: make them with {MAKE_TOOL} '
            '--out-dir OUT and pass tools/train_seg.py --pseudo-labels OUT; ground truth: fix '
            'ann_dir (or --data-root).')
    missing = [image_id for image_id in ids if image_id not in present]
    if missing:
        if pseudo:
            fix = (f'the folder was made for another split or image list: make labels for '
                   f'this split ({MAKE_TOOL} --split NAME), or train on the split it covers')
        else:
            fix = 'check that ann_dir and the split list belong to the same dataset'
        raise LabelFolderError(
            f'label folder {ann_dir} lacks {len(missing)} of the {len(ids)} images of the '
            f'split: {_preview(missing)}; {fix}.')


def check_images_exist(img_dir, ids, suffix):
    img_dir = Path(img_dir)
    if not img_dir.is_dir():
        raise LabelFolderError(f'image folder {img_dir} not found; fix img_dir (or data_root) '
                               'in the config.')
    present = {name[:-len(suffix)] for name in os.listdir(img_dir) if name.endswith(suffix)}
    missing = [image_id for image_id in ids if image_id not in present]
    if missing:
        raise LabelFolderError(
            f'image folder {img_dir} lacks {len(missing)} of {len(ids)} images '
            f'({_preview(missing)}, suffix {suffix!r}); check img_dir, img_suffix and the '
            'split list.')


def read_split(path):
    """Ids of a split list, read as stage 1 reads it (plain ids, IRN or L2G
    lists; duplicates refused), errors raised as LabelFolderError."""
    try:
        return read_split_list(path)
    except DatasetError as err:
        raise LabelFolderError(f'{err} Fix split in the config.') from None
