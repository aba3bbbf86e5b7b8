"""The pseudo-label step: classifier -> activation maps -> CRF -> label PNGs.

Reads a dataset split and a trained stage-1 checkpoint, writes::

    OUT/labels/<id>.png     VOC palette, 0 background, 1..C classes, 255 uncertain
    OUT/cams/<id>.npz       (--save-cams) classes (int16, 1..C), maps (float16, K x H x W)
    OUT/manifest.json       what made the folder and how complete it is

With a GPU the model runs in this process and the CRF in a pool of worker
processes; on a CPU each worker makes the maps too (the model is forked into
them, one thread each). Either way the pool is fed at most ``2 x workers``
images ahead, so memory does not grow with the split. Every file is written atomically; an id whose outputs exist is
skipped, so a killed run restarted with the same command finishes the rest.
``shard=(i, n)`` takes ids i, i+n, i+2n, ... so n machines split a split.
"""
import hashlib
import json
import logging
import multiprocessing
import os
import platform
import time
import traceback
from collections import deque
from pathlib import Path

import numpy as np

from .allocator import keep_freed_memory
from .config_check import validate_stage1_config
from .datasets.base import DatasetError, refuse_dataset_path
from .datasets.classification import with_data_root
from .thresholds import resolve_refine, wants_auto
from .io import (is_output_error, read_json, remove_stale_temp_files, write_json,
                 write_label_png, write_npz)

logger = logging.getLogger(__name__)

MANIFEST_VERSION = 1


class PseudoLabelError(RuntimeError):
    """A pseudo-label run that cannot start; the message says what to do."""


class OutputFolderError(PseudoLabelError):
    """The output folder failed mid-run (disk full, unwritable): the run stops;
    finished files stay, and re-running the command after the fix resumes."""


def sha256_of(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def shard_ids(ids, shard):
    """Ids of shard ``(index, count)``: every count-th id starting at index."""
    index, count = shard
    if not (count >= 1 and 0 <= index < count):
        raise ValueError(f'bad shard {index}/{count}: need 0 <= I < N')
    return list(ids)[index::count]


def parse_shard(text):
    """'I/N' -> (I, N)."""
    try:
        index, count = (int(part) for part in text.split('/'))
    except ValueError:
        raise ValueError(f'--shard must look like I/N (e.g. 0/4), got {text!r}') from None
    shard_ids([], (index, count))
    return index, count


def software_versions():
    import importlib.metadata as metadata
    versions = {'python': platform.python_version()}
    for package in ('torch', 'torchvision', 'mmengine', 'numpy', 'pydensecrf2'):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def refine_one(task):
    """Worker: CRF-refine one image's maps and write its files. Never raises.

    Returns (id, error, stats, fatal); ``fatal``: the output folder itself
    failed (disk full, unwritable), which no other image would escape.
    """
    from .refine import make_pseudo_label
    image_id, image, maps, classes, refine_cfg, out_dir, save_cams = task
    try:
        label = make_pseudo_label(image, maps, classes, refine_cfg)
        if save_cams:
            write_npz(Path(out_dir) / 'cams' / f'{image_id}.npz',
                      classes=np.asarray(classes, np.int16), maps=maps.astype(np.float16))
        write_label_png(Path(out_dir) / 'labels' / f'{image_id}.png', label)
        counts = np.bincount(label.ravel(), minlength=256)
        return image_id, None, {'pixels': int(label.size), 'ignored': int(counts[255])}, False
    except Exception as err:  # reported per image; the run goes on
        return image_id, f'{type(err).__name__}: {err}', None, is_output_error(err)


def _done(out_dir, image_id, save_cams):
    if not (out_dir / 'labels' / f'{image_id}.png').is_file():
        return False
    return not save_cams or (out_dir / 'cams' / f'{image_id}.npz').is_file()


class ManifestWriter:
    """Keeps ``manifest[-shard-I-of-N].json`` up to date (atomically)."""

    def __init__(self, out_dir, shard, header):
        name = 'manifest.json' if shard == (0, 1) else f'manifest.shard-{shard[0]}-of-{shard[1]}.json'
        self.path = out_dir / name
        self.header = header
        self.done = []
        self.failed = {}

    def write(self, complete, total):
        write_json(self.path, {**self.header, 'complete': complete, 'num_images': total,
                               'num_done': len(self.done), 'num_failed': len(self.failed),
                               'failed': self.failed, 'ids_done': sorted(self.done)})


def _as_json(value):
    return json.loads(json.dumps(value))


def open_out_dir(out_dir, source):
    """Refuse the dataset's own folders; create ``labels/`` (so an unwritable
    folder is reported before the model is loaded)."""
    out_dir = Path(out_dir).resolve()
    try:
        refuse_dataset_path(out_dir, source, '--out-dir')
    except DatasetError as err:
        raise PseudoLabelError(str(err)) from None
    try:
        (out_dir / 'labels').mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise PseudoLabelError(f'cannot create {out_dir / "labels"}: {err.strerror}; choose a '
                               'writable --out-dir.') from err
    return out_dir


def check_out_dir(out_dir, source, header, overwrite):
    """Refuse the dataset's own folders and folders made by another checkpoint/setting."""
    out_dir = open_out_dir(out_dir, source)
    for manifest in sorted(out_dir.glob('manifest*.json')):
        old = read_json(manifest)
        for key in ('checkpoint_sha256', 'map_kind', 'scales', 'refine', 'class_names'):
            if old.get(key) != _as_json(header.get(key)) and not overwrite:
                raise PseudoLabelError(
                    f'{manifest} was made with a different {key} ({str(old.get(key))[:80]}); '
                    'pass --overwrite to redo the folder, or choose another --out-dir.')


# What forked map workers read: set just before the pool forks (copy-on-write,
# nothing is pickled), cleared after.
_FORKED = {}


def _init_map_worker():
    import torch
    torch.set_num_threads(1)   # one core per worker; the pool has the others


def label_one(task):
    """Worker when the maps are made in the workers too (CPU model): maps of
    one image from the forked model, then ``refine_one``. Never raises."""
    from .maps import multiscale_maps
    image_id, refine_cfg, out_dir, save_cams = task
    try:
        source = _FORKED['source']
        image = source.image(image_id)
        classes = list(source.labels(image_id))
        maps = multiscale_maps(_FORKED['model'], image, classes, kind=_FORKED['map_kind'],
                               scales=_FORKED['scales'])
    except Exception as err:
        return image_id, f'{type(err).__name__}: {err}', None, False
    return refine_one((image_id, image, maps, classes, refine_cfg, out_dir, save_cams))


def _on_cpu(model):
    parameter = next(iter(model.parameters()), None)
    return parameter is None or parameter.device.type == 'cpu'


def make_pseudo_labels(model, source, out_dir, header, map_kind='bas', scales=None,
                       refine_cfg=None, workers=0, shard=(0, 1), save_cams=False,
                       overwrite=False, progress=True, maps_in_workers=None):
    """Run the step over ``source.ids`` (this shard); return the manifest dict.

    ``header``: provenance written into the manifest (config, checkpoint sha256...).
    ``maps_in_workers``: each worker makes the maps as well as the CRF (default:
    when the model is on the CPU and ``workers > 0``). On a CPU the model costs
    more than the CRF, so a model in the parent alone would keep the workers
    waiting; on a GPU the parent feeds the CRF workers.
    """
    from tqdm import tqdm

    from .maps import DEFAULT_SCALES, multiscale_maps
    from .refine import DEFAULT_REFINE_CFG

    out_dir = Path(out_dir)
    refine_cfg = {**DEFAULT_REFINE_CFG, **(refine_cfg or {})}
    scales = tuple(scales or DEFAULT_SCALES)
    header = {'manifest_version': MANIFEST_VERSION, **header, 'map_kind': map_kind,
              'scales': list(scales), 'refine': refine_cfg,
              'class_names': list(source.class_names), 'shard': list(shard),
              'versions': software_versions()}
    check_out_dir(out_dir, source, header, overwrite)
    ids = shard_ids(source.ids, shard)
    manifest = ManifestWriter(out_dir, shard, header)
    _remove_stale_temp_files(out_dir, ids, manifest.path.name)
    todo = []
    for image_id in ids:
        if not overwrite and _done(out_dir, image_id, save_cams):
            manifest.done.append(image_id)
        else:
            todo.append(image_id)
    manifest.write(complete=False, total=len(ids))
    logger.info('%d of %d images to label (%d already done) -> %s',
                len(todo), len(ids), len(ids) - len(todo), out_dir)

    # The model's large activations reuse freed memory instead of a fresh
    # mmap each (1.56x less CPU time on VOC-sized maps; see allocator.py).
    keep_freed_memory()
    if maps_in_workers is None:
        maps_in_workers = workers > 0 and _on_cpu(model)
    maps_in_workers = maps_in_workers and workers > 0
    if maps_in_workers:
        _FORKED.update(model=model, source=source, map_kind=map_kind, scales=scales)
        pool = multiprocessing.get_context('fork').Pool(workers, initializer=_init_map_worker)
    else:
        pool = multiprocessing.get_context('fork').Pool(workers) if workers > 0 else None
    if pool is not None and not maps_in_workers:
        # OpenMP threads spinning against busy CRF workers slow the model down
        # by orders of magnitude: give the model the cores the pool leaves.
        import torch
        torch.set_num_threads(max(1, (os.cpu_count() or 1) - workers))
    pending = deque()
    bar = tqdm(total=len(todo), desc='pseudo-labels', unit='img', disable=not progress,
               dynamic_ncols=True)
    last_manifest = time.monotonic()

    def collect(result):
        nonlocal last_manifest
        image_id, error, _stats, fatal = result
        if fatal:
            raise OutputFolderError(f'{error.split(": ", 1)[-1]} The run stopped; '
                                    're-run the same command to finish the rest.')
        if error is None:
            manifest.done.append(image_id)
        else:
            manifest.failed[image_id] = error
            logger.error('image %s failed: %s', image_id, error)
        bar.update(1)
        if time.monotonic() - last_manifest > 30:
            manifest.write(complete=False, total=len(ids))
            last_manifest = time.monotonic()

    try:
        for image_id in todo:
            if maps_in_workers:
                pending.append(pool.apply_async(
                    label_one, ((image_id, refine_cfg, str(out_dir), save_cams),)))
                while len(pending) >= 2 * workers or (pending and pending[0].ready()):
                    collect(pending.popleft().get())
                continue
            try:
                image = source.image(image_id)
                classes = list(source.labels(image_id))
                maps = multiscale_maps(model, image, classes, kind=map_kind, scales=scales)
            except Exception as err:
                logger.debug(traceback.format_exc())
                collect((image_id, f'{type(err).__name__}: {err}', None, False))
                continue
            task = (image_id, image, maps, classes, refine_cfg, str(out_dir), save_cams)
            if pool is None:
                collect(refine_one(task))
                continue
            pending.append(pool.apply_async(refine_one, (task,)))
            while len(pending) >= 2 * workers or (pending and pending[0].ready()):
                collect(pending.popleft().get())
        while pending:
            collect(pending.popleft().get())
    finally:
        bar.close()
        if pool is not None:
            pool.terminate() if pending else pool.close()
            pool.join()
        _FORKED.clear()
        complete = len(manifest.done) == len(ids)
        try:
            manifest.write(complete=complete, total=len(ids))
        except OSError as err:
            # Already failing (e.g. disk full): keep the first error, which says why.
            if not is_output_error(err):
                raise
            logger.error('%s', err)
    merged = merge_shard_manifests(out_dir) if shard != (0, 1) else None
    return read_json(merged or manifest.path)


def _remove_stale_temp_files(out_dir, ids, manifest_name):
    """Temporary files a killed run of this shard left behind (its ids only:
    other shards may be writing into the same folder right now)."""
    removed = remove_stale_temp_files(out_dir / 'labels', {f'{i}.png' for i in ids})
    removed += remove_stale_temp_files(out_dir / 'cams', {f'{i}.npz' for i in ids})
    removed += remove_stale_temp_files(out_dir, {manifest_name})
    if removed:
        logger.info('removed %d temporary file(s) of an interrupted run in %s', removed, out_dir)


def merge_shard_manifests(out_dir):
    """When every shard of a sharded run has finished, write ``manifest.json``."""
    out_dir = Path(out_dir)
    shards = sorted(out_dir.glob('manifest.shard-*-of-*.json'))
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
    write_json(out_dir / 'manifest.json', merged)
    return out_dir / 'manifest.json'


def source_config(cfg, split=None, data_root=None):
    """The images to label: ``cfg.pseudo_label.source`` or the training source,
    with ``split`` / ``data_root`` (and paths derived from it) replaced."""
    settings = cfg.get('pseudo_label', {})
    source_cfg = dict(settings.get('source') or cfg.train_dataloader.dataset.source)
    if data_root is not None:
        source_cfg = with_data_root(source_cfg, data_root)
    if split is not None:
        source_cfg['split'] = split
        source_cfg.pop('split_file', None)
    return source_cfg


def derive_thresholds(model, source, map_kind, scales, thresholds=None, progress=True,
                      max_images=None):
    """The seed optimum of ``model``'s maps on ``source`` (see ``thresholds.py``).

    One pass over the images (at most ``max_images``, evenly spaced over the
    split): the seed sweep over those with ground truth, and the histogram of
    peak map values over all of them (Otsu's threshold, the rule for data
    without ground truth). Returns a dict with ``seed_threshold`` and how it
    was found.
    """
    from tqdm import tqdm

    from .evaluation import threshold_sweep
    from .maps import multiscale_maps
    from .thresholds import PeakHistogram

    if thresholds is None:
        thresholds = np.round(np.arange(0.0, 0.951, 0.01), 2)
    histogram = PeakHistogram()
    with_gt = []
    ids = list(source.ids)
    if max_images and len(ids) > max_images:
        ids = [ids[i] for i in np.linspace(0, len(ids) - 1, max_images).round().astype(int)]

    def items():
        for image_id in tqdm(ids, desc='threshold sweep', unit='img',
                             disable=not progress, dynamic_ncols=True):
            classes = list(source.labels(image_id))
            maps = multiscale_maps(model, source.image(image_id), classes, kind=map_kind,
                                   scales=scales)
            histogram.add(maps)
            gt = source.gt_mask(image_id)
            if gt is not None:
                with_gt.append(image_id)
                yield maps, classes, gt

    sweep = threshold_sweep(items(), thresholds=thresholds,
                            num_classes=source.num_classes + 1)
    otsu = histogram.otsu()
    common = {'otsu_threshold': otsu, 'num_images': len(ids),
              'split': getattr(source, 'split', None)}
    if with_gt:
        return {'seed_threshold': sweep['best_threshold'], 'rule': 'seed sweep (ground truth)',
                'seed_miou': sweep['best_miou'], 'num_images_with_gt': len(with_gt), **common}
    return {'seed_threshold': otsu, 'rule': 'Otsu on peak map values (no ground truth)',
            'num_images_with_gt': 0, **common}


def _previous_derivation(out_dir, header, requested):
    """Thresholds a previous (interrupted) run of the same folder derived with the
    same checkpoint, maps and requested settings: resuming need not sweep again."""
    for manifest in sorted(Path(out_dir).glob('manifest*.json')):
        old = read_json(manifest)
        if (old.get('thresholds_derived') and old.get('refine_requested') == _as_json(requested)
                and all(old.get(k) == _as_json(header.get(k))
                        for k in ('checkpoint_sha256', 'map_kind', 'scales', 'threshold_source'))):
            return old['refine'], old['thresholds_derived']
    return None


def run_from_config(config, checkpoint, out_dir, split=None, data_root=None, workers=0,
                    shard=(0, 1), save_cams=False, overwrite=False, cfg_options=None,
                    device='cpu', maps_in_workers=None, threshold_split=None,
                    seed_threshold=None):
    """``tools/make_pseudo_labels.py``: everything from a stage-1 config + checkpoint.

    The images come from ``cfg.pseudo_label.source`` (default: the training
    source without augmentation); ``split`` and ``data_root`` override it.
    With ``pseudo_label.refine.fg_threshold/bg_threshold='auto'`` the pair is
    derived from ``seed_threshold`` when given, else from a seed sweep of the
    same maps on ``threshold_split`` (default: ``pseudo_label.threshold_split``,
    else the split being labelled; its ground truth if it has any, Otsu's rule
    if not; ``thresholds.py``).
    """
    from mmengine.config import Config

    from .datasets.classification import build_source
    from .maps import load_classifier

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    settings = cfg.get('pseudo_label', {})
    source_cfg = source_config(cfg, split=split, data_root=data_root)
    validate_stage1_config(cfg, training=False, source_cfg=source_cfg)
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise PseudoLabelError(f'checkpoint not found: {checkpoint}; pass the .pth written by '
                               'tools/train_cam.py (e.g. work_dirs/<config>/epoch_N.pth).')
    source = build_source(source_cfg)
    open_out_dir(out_dir, source)
    model = load_classifier(cfg, checkpoint, device=device)
    map_kind = settings.get('map_kind', model.default_map_kind)
    header = {'method': type(model).__name__, 'config': str(config),
              'config_text': cfg.pretty_text, 'checkpoint': str(checkpoint),
              'checkpoint_sha256': sha256_of(checkpoint), 'source': source_cfg,
              'created': time.strftime('%Y-%m-%dT%H:%M:%S'), 'host': platform.node(),
              'pid': os.getpid()}
    refine_cfg = settings.get('refine')
    if wants_auto(refine_cfg):
        threshold_split = threshold_split or settings.get('threshold_split')
        refine_cfg, header = _auto_refine(cfg, model, source, header, map_kind, refine_cfg,
                                          out_dir, threshold_split, seed_threshold, data_root,
                                          overwrite)
    return make_pseudo_labels(model, source, out_dir, header, map_kind=map_kind,
                              scales=settings.get('scales'), refine_cfg=refine_cfg,
                              workers=workers, shard=shard, save_cams=save_cams,
                              overwrite=overwrite, maps_in_workers=maps_in_workers)


def _auto_refine(cfg, model, source, header, map_kind, requested, out_dir, threshold_split,
                 seed_threshold, data_root, overwrite):
    """Resolve 'auto' thresholds; the header records the request and the derivation."""
    from .datasets.classification import build_source
    from .maps import DEFAULT_SCALES
    from .refine import DEFAULT_REFINE_CFG

    scales = tuple(cfg.get('pseudo_label', {}).get('scales') or DEFAULT_SCALES)
    requested = {**DEFAULT_REFINE_CFG, **requested}
    header = dict(header, refine_requested=requested,
                  threshold_source=threshold_split if seed_threshold is None
                  else f'given seed threshold {seed_threshold}')
    if seed_threshold is not None:
        derived = {'seed_threshold': float(seed_threshold), 'rule': 'given'}
    else:
        previous = None if overwrite else _previous_derivation(
            out_dir, {**header, 'map_kind': map_kind, 'scales': list(scales)}, requested)
        if previous is not None:
            resolved, derived = previous
            return resolved, dict(header, thresholds_derived=derived)
        threshold_source = source if threshold_split is None else build_source(
            source_config(cfg, split=threshold_split, data_root=data_root))
        logger.info('deriving confident-region thresholds from the %s maps of %d images',
                    map_kind, len(threshold_source.ids))
        derived = derive_thresholds(
            model, threshold_source, map_kind, scales,
            max_images=cfg.get('pseudo_label', {}).get('threshold_images', 2000))
    try:
        resolved = resolve_refine(requested, derived['seed_threshold'])
    except ValueError as err:
        raise PseudoLabelError(str(err)) from None
    derived.update(fg_threshold=resolved['fg_threshold'], bg_threshold=resolved['bg_threshold'])
    logger.info('confident-region thresholds fg %.2f / bg %.2f from seed threshold %.2f (%s)',
                resolved['fg_threshold'], resolved['bg_threshold'], derived['seed_threshold'],
                derived['rule'])
    return resolved, dict(header, thresholds_derived=derived)


__all__ = ['make_pseudo_labels', 'derive_thresholds', 'run_from_config', 'merge_shard_manifests', 'parse_shard',
           'shard_ids', 'PseudoLabelError']
