"""The pseudo-label step: classifier -> activation maps -> CRF -> label PNGs.

Reads a dataset split and a trained stage-1 checkpoint, writes the
pseudo-label folder of ``wsss_core.label_folder``::

    OUT/labels/<id>.png     VOC palette, 0 background, 1..C classes, 255 uncertain
    OUT/cams/<id>.npz       (--save-cams) classes (int16, 1..C), maps (float16, K x H x W)
    OUT/manifest.json       what made the folder and how complete it is

Three execution strategies, one function each, all yielding ``LabelResult``s
that the manifest collects: in this process (``workers=0``); the model here
and the CRF in a pool of worker processes (a GPU model); the maps made in the
workers too (a CPU model, forked into them, one thread each). A pool is fed
at most ``2 x workers`` images ahead, so memory does not grow with the split.
Every file is written atomically; an id whose outputs exist is skipped, so a
killed run restarted with the same command finishes the rest.
``shard=(i, n)`` takes ids i, i+n, i+2n, ... so n machines split a split.
"""
import importlib.metadata as metadata
import json
import logging
import multiprocessing
import os
import platform
import time
import traceback
from collections import deque
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from tqdm import tqdm

from wsss_core.errors import UserError
from wsss_core.io import (is_output_error, read_json, remove_stale_temp_files, sha256_of,
                          write_label_png, write_npz)
from wsss_core.label_folder import (ManifestWriter, is_done, label_path, labels_dir, maps_dir,
                                    maps_path, merge_shard_manifests)

from .allocator import keep_freed_memory
from .config import load_stage1_config
from .config_check import validate_stage1_config
from .datasets.base import DatasetError, refuse_dataset_path
from .datasets.classification import build_source
from .maps import DEFAULT_SCALES, load_classifier, multiscale_maps
from .refine import DEFAULT_REFINE_CFG, make_pseudo_label
from .evaluation import threshold_sweep
from .thresholds import DEFAULT_SEED_BAND, PeakHistogram, resolve_refine, wants_auto

logger = logging.getLogger(__name__)


class PseudoLabelError(UserError, RuntimeError):
    """A pseudo-label run that cannot start; the message says what to do."""


class OutputFolderError(PseudoLabelError):
    """The output folder failed mid-run (disk full, unwritable): the run stops;
    finished files stay, and re-running the command after the fix resumes."""


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
    versions = {'python': platform.python_version()}
    for package in ('torch', 'torchvision', 'mmengine', 'numpy', 'pydensecrf2'):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


@dataclass(frozen=True)
class LabelSettings:
    """What labelling one image needs besides the model and the source
    (small and picklable: it travels to the CRF workers with every image)."""
    out_dir: str
    map_kind: str
    scales: tuple
    refine_cfg: dict
    save_cams: bool


@dataclass(frozen=True)
class LabelResult:
    """The outcome of one image, whichever strategy labelled it.

    ``error``: ``'Type: message'`` when it failed (else None); ``stats``: pixel
    counts of its label; ``fatal``: the output folder itself failed (disk
    full, unwritable), which no other image would escape.
    """
    image_id: str
    error: Optional[str] = None
    stats: Optional[dict] = None
    fatal: bool = False


def _failure(image_id, err, fatal=False):
    return LabelResult(image_id, error=f'{type(err).__name__}: {err}', fatal=fatal)


def image_maps(model, source, image_id, settings):
    """(image, classes, maps) of one image of ``source``."""
    image = source.image(image_id)
    classes = list(source.labels(image_id))
    maps = multiscale_maps(model, image, classes, kind=settings.map_kind, scales=settings.scales)
    return image, classes, maps


def refine_one(image_id, image, maps, classes, settings):
    """CRF-refine one image's maps and write its files. Never raises."""
    try:
        label = make_pseudo_label(image, maps, classes, settings.refine_cfg)
        if settings.save_cams:
            write_npz(maps_path(settings.out_dir, image_id),
                      classes=np.asarray(classes, np.int16), maps=maps.astype(np.float16))
        write_label_png(label_path(settings.out_dir, image_id), label)
        counts = np.bincount(label.ravel(), minlength=256)
        return LabelResult(image_id, stats={'pixels': int(label.size), 'ignored': int(counts[255])})
    except Exception as err:  # reported per image; the run goes on
        return _failure(image_id, err, fatal=is_output_error(err))


def label_one(model, source, image_id, settings):
    """Maps, then ``refine_one``, of one image. Never raises."""
    try:
        image, classes, maps = image_maps(model, source, image_id, settings)
    except Exception as err:  # reported per image; the run goes on
        logger.debug(traceback.format_exc())
        return _failure(image_id, err)
    return refine_one(image_id, image, maps, classes, settings)


def label_in_process(model, source, ids, settings):
    """Strategy ``workers=0``: every image labelled here, one after another."""
    for image_id in ids:
        yield label_one(model, source, image_id, settings)


def _drain(pending, limit):
    """Results of the submitted images: the finished ones at the head of the
    queue, and as many more as it takes to leave at most ``limit`` waiting."""
    while len(pending) >= limit or (pending and pending[0].ready()):
        yield pending.popleft().get()


def _run_pool(pool, tasks, workers):
    """Feed ``tasks`` (a LabelResult, or an AsyncResult to wait for) through the
    pool's queue at most ``2 x workers`` ahead; the pool is closed at the end,
    or terminated when the consumer stops early (a fatal output error)."""
    pending = deque()
    try:
        for task in tasks:
            if isinstance(task, LabelResult):
                yield task
                continue
            pending.append(task)
            yield from _drain(pending, 2 * workers)
        while pending:
            yield pending.popleft().get()
    finally:
        pool.terminate() if pending else pool.close()
        pool.join()


def label_with_crf_pool(model, source, ids, settings, workers):
    """Strategy model-in-parent: the maps here (the GPU's work), the CRF in
    ``workers`` forked processes."""
    pool = multiprocessing.get_context('fork').Pool(workers)
    # OpenMP threads spinning against busy CRF workers slow the model down by
    # orders of magnitude: give the model the cores the pool leaves.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) - workers))

    def tasks():
        for image_id in ids:
            try:
                image, classes, maps = image_maps(model, source, image_id, settings)
            except Exception as err:  # reported per image; the run goes on
                logger.debug(traceback.format_exc())
                yield _failure(image_id, err)
                continue
            yield pool.apply_async(refine_one, (image_id, image, maps, classes, settings))

    yield from _run_pool(pool, tasks(), workers)


# The model and source of a map worker: set in each worker by the pool's
# initializer. The pool forks, so they arrive by copy-on-write, not pickled;
# the parent's module state is never touched.
_worker_state = None


def _init_map_worker(model, source):
    global _worker_state
    _worker_state = (model, source)
    torch.set_num_threads(1)   # one core per worker; the pool has the others


def _label_in_worker(image_id, settings):
    model, source = _worker_state
    return label_one(model, source, image_id, settings)


def label_in_map_workers(model, source, ids, settings, workers):
    """Strategy maps-in-workers (a CPU model): each of ``workers`` forked
    processes makes an image's maps and its CRF; on a CPU the model costs
    more than the CRF, so a model in the parent alone would keep them waiting."""
    pool = multiprocessing.get_context('fork').Pool(workers, initializer=_init_map_worker,
                                                    initargs=(model, source))
    tasks = (pool.apply_async(_label_in_worker, (image_id, settings)) for image_id in ids)
    yield from _run_pool(pool, tasks, workers)


class ResultCollector:
    """Collects ``LabelResult``s into the manifest, with a progress bar."""

    def __init__(self, manifest, total, progress):
        self.manifest = manifest
        self.bar = tqdm(total=total, desc='pseudo-labels', unit='img', disable=not progress,
                        dynamic_ncols=True)

    def add(self, result):
        if result.fatal:
            raise OutputFolderError(f'{result.error.split(": ", 1)[-1]} The run stopped; '
                                    're-run the same command to finish the rest.')
        self.manifest.record(result.image_id, result.error)
        if result.error is not None:
            logger.error('image %s failed: %s', result.image_id, result.error)
        self.bar.update(1)
        self.manifest.write_if_due()


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
        labels_dir(out_dir).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise PseudoLabelError(f'cannot create {labels_dir(out_dir)}: {err.strerror}; choose a '
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


def _on_cpu(model):
    parameter = next(iter(model.parameters()), None)
    return parameter is None or parameter.device.type == 'cpu'


def make_pseudo_labels(model, source, out_dir, header, map_kind='bas', scales=None,
                       refine_cfg=None, workers=0, shard=(0, 1), save_cams=False,
                       overwrite=False, progress=True, maps_in_workers=None):
    """Run the step over ``source.ids`` (this shard); return the manifest dict.

    ``header``: provenance written into the manifest (config, checkpoint sha256...).
    ``maps_in_workers``: each worker makes the maps as well as the CRF (default:
    when the model is on the CPU and ``workers > 0``; see the module docstring).
    """
    out_dir = Path(out_dir)
    refine_cfg = {**DEFAULT_REFINE_CFG, **(refine_cfg or {})}
    scales = tuple(scales or DEFAULT_SCALES)
    header = {**header, 'map_kind': map_kind, 'scales': list(scales), 'refine': refine_cfg,
              'class_names': list(source.class_names), 'shard': list(shard),
              'versions': software_versions()}
    check_out_dir(out_dir, source, header, overwrite)
    ids = shard_ids(source.ids, shard)
    manifest = ManifestWriter(out_dir, shard, header, total=len(ids))
    _remove_stale_temp_files(out_dir, ids, manifest.path.name)
    todo = []
    for image_id in ids:
        if not overwrite and is_done(out_dir, image_id, with_maps=save_cams):
            manifest.record(image_id)
        else:
            todo.append(image_id)
    manifest.write(complete=False)
    logger.info('%d of %d images to label (%d already done) -> %s',
                len(todo), len(ids), len(ids) - len(todo), out_dir)

    # The model's large activations reuse freed memory instead of a fresh
    # mmap each, which page faults would zero again (allocator.py;
    # benchmarks/results/maps.json, "allocators").
    keep_freed_memory()
    settings = LabelSettings(out_dir=str(out_dir), map_kind=map_kind, scales=scales,
                             refine_cfg=refine_cfg, save_cams=save_cams)
    if workers <= 0:
        results = label_in_process(model, source, todo, settings)
    elif maps_in_workers if maps_in_workers is not None else _on_cpu(model):
        results = label_in_map_workers(model, source, todo, settings, workers)
    else:
        results = label_with_crf_pool(model, source, todo, settings, workers)
    collector = ResultCollector(manifest, len(todo), progress)
    try:
        with closing(results):
            for result in results:
                collector.add(result)
    finally:
        collector.bar.close()
        try:
            manifest.write(complete=manifest.complete)
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
    removed = remove_stale_temp_files(labels_dir(out_dir),
                                      {label_path(out_dir, i).name for i in ids})
    removed += remove_stale_temp_files(maps_dir(out_dir), {maps_path(out_dir, i).name for i in ids})
    removed += remove_stale_temp_files(out_dir, {manifest_name})
    if removed:
        logger.info('removed %d temporary file(s) of an interrupted run in %s', removed, out_dir)


def source_config(cfg, split=None):
    """The images to label: ``cfg.pseudo_label.source`` or the training source
    (of a config already moved to its data root by ``load_stage1_config``),
    with ``split`` replaced."""
    settings = cfg.get('pseudo_label', {})
    source_cfg = dict(settings.get('source') or cfg.train_dataloader.dataset.source)
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
    without ground truth). Returns a dict with ``seed_threshold``, how it
    was found and, with ground truth, the ``sweep`` curve (``thresholds``,
    ``miou``) that places the background threshold.
    """
    histogram = PeakHistogram()
    with_gt = []
    ids = list(source.ids)
    if max_images and len(ids) > max_images:
        ids = [ids[i] for i in np.linspace(0, len(ids) - 1, max_images).round().astype(int)]

    skipped = {}

    def items():
        for image_id in tqdm(ids, desc='threshold sweep', unit='img',
                             disable=not progress, dynamic_ncols=True):
            try:
                classes = list(source.labels(image_id))
                maps = multiscale_maps(model, source.image(image_id), classes, kind=map_kind,
                                       scales=scales)
                gt = source.gt_mask(image_id)
            except Exception as err:  # a bad image: left out here, counted by the labelling
                skipped[image_id] = f'{type(err).__name__}: {err}'
                logger.warning('threshold sweep: %s skipped (%s)', image_id, skipped[image_id])
                continue
            histogram.add(maps)
            if gt is not None:
                with_gt.append(image_id)
                yield maps, classes, gt

    sweep = threshold_sweep(items(), thresholds=thresholds,
                            num_classes=source.num_classes + 1)
    if not histogram.counts.any():
        raise PseudoLabelError(f'no image of the threshold split could be read ({len(skipped)} '
                               f'failed, e.g. {next(iter(skipped.items()), ("", ""))[1]}); fix '
                               'them or set the refine thresholds by hand.')
    otsu = histogram.otsu()
    common = {'otsu_threshold': otsu, 'num_images': len(ids) - len(skipped),
              'num_skipped': len(skipped), 'split': getattr(source, 'split', None)}
    if with_gt:
        curve = {'thresholds': [float(t) for t in sweep['thresholds']],
                 'miou': [None if not np.isfinite(m) else float(m) for m in sweep['miou']]}
        return {'seed_threshold': sweep['best_threshold'], 'rule': 'seed sweep (ground truth)',
                'seed_miou': sweep['best_miou'], 'num_images_with_gt': len(with_gt),
                'sweep': curve, **common}
    return {'seed_threshold': otsu, 'rule': 'Otsu on peak map values (no ground truth)',
            'num_images_with_gt': 0, **common}


def _previous_derivation(out_dir, header, requested, band):
    """Thresholds a previous (interrupted) run of the same folder derived with the
    same checkpoint, maps, requested settings and band: resuming need not sweep again."""
    for manifest in sorted(Path(out_dir).glob('manifest*.json')):
        old = read_json(manifest)
        derived = old.get('thresholds_derived')
        if (derived and derived.get('band') == band
                and old.get('refine_requested') == _as_json(requested)
                and all(old.get(k) == _as_json(header.get(k))
                        for k in ('checkpoint_sha256', 'map_kind', 'scales', 'threshold_source'))):
            return old['refine'], derived
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
    if not; ``thresholds.py``). The model's class supplies the defaults of
    ``map_kind`` and ``refine`` (``default_map_kind``, ``default_refine``).
    """
    cfg = load_stage1_config(config, data_root=data_root, cfg_options=cfg_options)
    settings = cfg.get('pseudo_label', {})
    source_cfg = source_config(cfg, split=split)
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
    scales = tuple(settings.get('scales') or DEFAULT_SCALES)
    refine_cfg = {**model.default_refine, **(settings.get('refine') or {})}
    if wants_auto(refine_cfg):
        threshold_split = threshold_split or settings.get('threshold_split')
        refine_cfg, header = _auto_refine(cfg, model, source, header, map_kind, scales,
                                          refine_cfg, out_dir, threshold_split, seed_threshold,
                                          overwrite)
    return make_pseudo_labels(model, source, out_dir, header, map_kind=map_kind,
                              scales=scales, refine_cfg=refine_cfg,
                              workers=workers, shard=shard, save_cams=save_cams,
                              overwrite=overwrite, maps_in_workers=maps_in_workers)


def _auto_refine(cfg, model, source, header, map_kind, scales, requested, out_dir,
                 threshold_split, seed_threshold, overwrite):
    """Resolve 'auto' thresholds; the header records the request and the derivation."""
    requested = {**DEFAULT_REFINE_CFG, **requested}
    band = float(cfg.get('pseudo_label', {}).get('threshold_band', DEFAULT_SEED_BAND))
    if not 0 <= band < 1:
        raise PseudoLabelError(f'pseudo_label.threshold_band must be in [0, 1) (a share of '
                               f'mIoU, e.g. 0.10 for 10 points), got {band}')
    header = dict(header, refine_requested=requested,
                  threshold_source=threshold_split if seed_threshold is None
                  else f'given seed threshold {seed_threshold}')
    if seed_threshold is not None:
        derived = {'seed_threshold': float(seed_threshold), 'rule': 'given'}
    else:
        previous = None if overwrite else _previous_derivation(
            out_dir, {**header, 'map_kind': map_kind, 'scales': list(scales)}, requested, band)
        if previous is not None:
            resolved, derived = previous
            return resolved, dict(header, thresholds_derived=derived)
        threshold_source = source if threshold_split is None else build_source(
            source_config(cfg, split=threshold_split))
        logger.info('deriving confident-region thresholds from the %s maps of %d images',
                    map_kind, len(threshold_source.ids))
        derived = derive_thresholds(
            model, threshold_source, map_kind, scales,
            max_images=cfg.get('pseudo_label', {}).get('threshold_images', 2000))
    try:
        resolved = resolve_refine(requested, derived, band=band)
    except ValueError as err:
        raise PseudoLabelError(str(err)) from None
    derived.update(fg_threshold=resolved['fg_threshold'], bg_threshold=resolved['bg_threshold'],
                   band=band)
    logger.info('confident-region thresholds fg %.2f / bg %.2f from seed threshold %.2f (%s)',
                resolved['fg_threshold'], resolved['bg_threshold'], derived['seed_threshold'],
                derived['rule'])
    return resolved, dict(header, thresholds_derived=derived)


__all__ = ['make_pseudo_labels', 'derive_thresholds', 'run_from_config', 'parse_shard',
           'shard_ids', 'PseudoLabelError']
