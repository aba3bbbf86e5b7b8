"""The pseudo-label folder: the one contract between the two stages.

Stage 1 (``stage1_cam.pseudo_labels``) writes a folder through this module,
stage 2 (``stage2_seg.datasets``) reads it through this module::

    OUT/labels/<id>.png        0 background, 1..C classes, 255 uncertain (VOC palette)
    OUT/cams/<id>.npz          (optional) classes (int16, 1..C), maps (float16, K x H x W)
    OUT/manifest.json          what made the folder and how complete it is
    OUT/manifest.shard-I-of-N.json   (sharded runs, merged into manifest.json
                                      by the last shard to finish)

Manifest fields written by every run: ``manifest_version``, the provenance
header (``method``, ``config``, ``checkpoint_sha256``, ``map_kind``,
``scales``, ``refine``, ``class_names`` (foreground, in label order),
``shard`` [I, N], ``versions``...), then ``complete``, ``num_images``,
``num_done``, ``num_failed``, ``failed`` {id: reason} and ``ids_done``.

A folder that is half written (a killed or failed run, shards still running),
made for another class list, or missing labels of the split would otherwise
train silently on the wrong data (mmseg only fails on the first missing file,
possibly hours in). Every error here names the folder and the fix.
"""
import os
import time
from pathlib import Path

from .dataset_files import DatasetError, read_split_list
from .errors import UserError
from .io import read_json, write_json

MANIFEST = 'manifest.json'
MANIFEST_VERSION = 1
SHARD_MANIFEST_GLOB = 'manifest.shard-*-of-*.json'
LABELS = 'labels'
MAPS = 'cams'
MAKE_TOOL = 'tools/make_pseudo_labels.py'


class LabelFolderError(UserError, ValueError):
    """A label folder that cannot be used; the message says why and what to do."""


# ---- writing (stage 1)

def manifest_name(shard):
    """``manifest.json`` for an unsharded run, else this shard's own manifest."""
    return MANIFEST if tuple(shard) == (0, 1) else f'manifest.shard-{shard[0]}-of-{shard[1]}.json'


def labels_dir(out_dir):
    return Path(out_dir) / LABELS


def maps_dir(out_dir):
    return Path(out_dir) / MAPS


def label_path(out_dir, image_id):
    return labels_dir(out_dir) / f'{image_id}.png'


def maps_path(out_dir, image_id):
    return maps_dir(out_dir) / f'{image_id}.npz'


def is_done(out_dir, image_id, with_maps=False):
    """Whether ``image_id``'s outputs exist (every file is written atomically,
    so an existing file is a finished one)."""
    if not label_path(out_dir, image_id).is_file():
        return False
    return not with_maps or maps_path(out_dir, image_id).is_file()


class ManifestWriter:
    """Keeps ``manifest[-shard-I-of-N].json`` up to date (atomically).

    ``header``: the provenance fields; ``done`` / ``failed`` collect the
    results of the run (and the ids a previous run finished)."""

    def __init__(self, out_dir, shard, header, total):
        self.path = Path(out_dir) / manifest_name(shard)
        self.header = {'manifest_version': MANIFEST_VERSION, **header}
        self.total = total
        self.done = []
        self.failed = {}
        self._written = time.monotonic()

    def record(self, image_id, error=None):
        """One image finished: done, or failed with ``error`` (its reason)."""
        if error is None:
            self.done.append(image_id)
        else:
            self.failed[image_id] = error

    @property
    def complete(self):
        return len(self.done) == self.total

    def write(self, complete=False):
        write_json(self.path, {**self.header, 'complete': complete, 'num_images': self.total,
                               'num_done': len(self.done), 'num_failed': len(self.failed),
                               'failed': self.failed, 'ids_done': sorted(self.done)})
        self._written = time.monotonic()

    def write_if_due(self, every_s=30.0):
        """Rewrite the (incomplete) manifest at most every ``every_s`` seconds, so a
        killed run leaves a recent account and a long run pays little for it."""
        if time.monotonic() - self._written > every_s:
            self.write(complete=False)


def merge_shard_manifests(out_dir):
    """When every shard of a sharded run has finished, write ``manifest.json``;
    return its path, or None while shards are missing or unfinished."""
    out_dir = Path(out_dir)
    shards = sorted(out_dir.glob(SHARD_MANIFEST_GLOB))
    if not shards:
        return None
    parts = [read_json(p) for p in shards]
    count = parts[0]['shard'][1]
    if len(parts) != count or not all(p['complete'] for p in parts):
        return None
    merged = {k: v for k, v in parts[0].items() if k not in ('shard', 'failed', 'ids_done')}
    merged.update(shard=[0, 1], complete=True, merged_from=[p.name for p in shards],
                  num_images=sum(p['num_images'] for p in parts),
                  num_done=sum(p['num_done'] for p in parts),
                  num_failed=0, failed={},
                  ids_done=sorted(i for p in parts for i in p['ids_done']))
    write_json(out_dir / MANIFEST, merged)
    return out_dir / MANIFEST


# ---- reading and validating (stage 2)

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
    if (ann_dir / MANIFEST).is_file() and (ann_dir / LABELS).is_dir():
        raise LabelFolderError(
            f'{ann_dir} is a pseudo-label output folder; point the dataset at its label '
            f'folder {ann_dir / LABELS} (tools/train_seg.py --pseudo-labels {ann_dir} does '
            'this).')
    manifest = parent / MANIFEST
    if manifest.is_file():
        return manifest
    shards = sorted(parent.glob(SHARD_MANIFEST_GLOB))
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
