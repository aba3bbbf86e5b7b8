"""Scoring seeds and pseudo labels against ground truth: confusion matrices,
mIoU, coverage, and the background-threshold sweep.

Conventions (see docs of ``ConfusionMatrix``): ground-truth 255 is ignored;
a prediction of 255 ("uncertain", e.g. IRN confident-region labels) is kept
apart so the same counts give mIoU over the pixels a label decides, its
coverage, and the two other conventions in use (255 as background, as IRN's
``eval_sem_seg``; 255 as a miss, as MMSegmentation's ``IoUMetric``).
"""
import logging
import math
import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from wsss_core.errors import UserError
from wsss_core.io import IGNORE_INDEX, atomic_path, read_label_png

UNCERTAIN_MODES = ('exclude', 'background', 'miss')


class EvaluationError(UserError, ValueError):
    """A folder that cannot be scored at all; the message says what to check."""


class MissingFilesError(EvaluationError, FileNotFoundError):
    """The files to score (or their ground truth) are not there."""


class IncompleteFolderError(MissingFilesError):
    """A folder lacks the maps or labels of some images of the split."""


# Background thresholds of the seed sweep (start, stop inclusive, step): CAM
# maps peak near 0.15, BAS maps at 0.6-0.9, so the sweep reaches 0.95.
DEFAULT_SEED_THRESHOLDS = (0.0, 0.95, 0.01)


def sweep_thresholds(start=DEFAULT_SEED_THRESHOLDS[0], stop=DEFAULT_SEED_THRESHOLDS[1],
                     step=DEFAULT_SEED_THRESHOLDS[2]):
    """The thresholds start, start + step, ..., stop (inclusive), rounded."""
    return np.round(np.arange(start, stop + step / 2, step), 6)


logger = logging.getLogger(__name__)


class ConfusionMatrix:
    """Pixel counts ``matrix[gt, pred]`` over ``num_classes`` classes (bg included).

    ``matrix`` is (num_classes, num_classes + 1): the extra last column counts
    gt-valid pixels predicted 255. Ground-truth 255 pixels are never counted.

    IoU_c = TP_c / (TP_c + FP_c + FN_c) = M[c, c] / (row_c + col_c - M[c, c]);
    NaN when class c is in neither gt nor prediction (mmseg does the same),
    and mIoU is the mean over the other classes. ``uncertain`` picks how a
    prediction of 255 counts:

    * ``'exclude'`` (default): the pixel is left out, as it is left out of
      training (the AMN#3 pitfall: counting them as errors understates a
      confident-region label); report ``coverage()`` beside it.
    * ``'background'``: counts as a prediction of 0 (IRN ``eval_sem_seg``).
    * ``'miss'``: counts in the ground-truth class's total but as no
      prediction, i.e. a false negative (MMSegmentation ``IoUMetric``).
    """

    def __init__(self, num_classes):
        num_classes = int(num_classes)
        if not 1 <= num_classes < IGNORE_INDEX:
            raise ValueError(f'num_classes must be in 1..{IGNORE_INDEX - 1}, got {num_classes}')
        self.num_classes = num_classes
        self.matrix = np.zeros((num_classes, num_classes + 1), dtype=np.int64)
        self.num_images = 0

    # -- accumulation -----------------------------------------------------

    def update(self, pred, gt):
        """Add one prediction/ground-truth pair (same shape, integer class indices)."""
        pred = np.asarray(pred)
        gt = np.asarray(gt)
        if pred.shape != gt.shape:
            raise ValueError(f'prediction {pred.shape} and ground truth {gt.shape} differ in shape')
        n = self.num_classes
        valid = gt != IGNORE_INDEX
        gt_v = gt[valid].astype(np.int64)
        pred_v = pred[valid].astype(np.int64)
        if gt_v.size:
            if gt_v.min() < 0 or gt_v.max() >= n:
                raise ValueError(f'ground truth holds classes outside 0..{n - 1} (and 255): '
                                 f'{sorted(set(np.unique(gt_v).tolist()) - set(range(n)))}')
            uncertain = pred_v == IGNORE_INDEX
            if ((pred_v < 0) | (pred_v >= n) & ~uncertain).any():
                bad = sorted(set(np.unique(pred_v).tolist()) - set(range(n)) - {IGNORE_INDEX})
                raise ValueError(f'prediction holds classes outside 0..{n - 1} (and 255): {bad}')
            pred_v[uncertain] = n
            counts = np.bincount(gt_v * (n + 1) + pred_v, minlength=n * (n + 1))
            self.matrix += counts.reshape(n, n + 1)
        self.num_images += 1
        return self

    def merge(self, other):
        """A new matrix holding both shards' counts (same as one pass over both)."""
        if not isinstance(other, ConfusionMatrix):
            return NotImplemented
        if other.num_classes != self.num_classes:
            raise ValueError(f'cannot merge {self.num_classes}- and {other.num_classes}-class '
                             'confusion matrices')
        merged = ConfusionMatrix(self.num_classes)
        merged.matrix = self.matrix + other.matrix
        merged.num_images = self.num_images + other.num_images
        return merged

    __add__ = merge

    def __radd__(self, other):  # lets sum(shards) work
        if isinstance(other, (int, float)) and other == 0:
            return self.merge(ConfusionMatrix(self.num_classes))
        return NotImplemented

    def __eq__(self, other):
        return isinstance(other, ConfusionMatrix) and other.num_classes == self.num_classes \
            and np.array_equal(other.matrix, self.matrix)

    # -- metrics ----------------------------------------------------------

    def square(self, uncertain='exclude'):
        """(num_classes, num_classes) counts under an ``uncertain`` convention."""
        if uncertain not in UNCERTAIN_MODES:
            raise ValueError(f'unknown uncertain mode {uncertain!r}; use one of {UNCERTAIN_MODES}')
        square = self.matrix[:, :-1].copy()
        if uncertain == 'background':
            square[:, 0] += self.matrix[:, -1]
        return square

    def iou(self, uncertain='exclude'):
        """Per-class IoU (num_classes,), NaN for classes absent from gt and prediction."""
        square = self.square(uncertain)
        tp = np.diag(square).astype(np.float64)
        gt_area = square.sum(axis=1)
        if uncertain == 'miss':
            gt_area = gt_area + self.matrix[:, -1]
        union = gt_area + square.sum(axis=0) - tp
        with np.errstate(divide='ignore', invalid='ignore'):
            return np.where(union > 0, tp / np.maximum(union, 1), np.nan)

    def miou(self, uncertain='exclude'):
        """Mean IoU over the classes present in gt or prediction (NaN if none)."""
        iou = self.iou(uncertain)
        return float(np.nanmean(iou)) if np.isfinite(iou).any() else math.nan

    def pixel_accuracy(self, uncertain='exclude'):
        square = self.square(uncertain)
        total = square.sum() + (self.matrix[:, -1].sum() if uncertain == 'miss' else 0)
        return float(np.trace(square) / total) if total else math.nan

    @property
    def valid_pixels(self):
        """Ground-truth pixels that are not 255."""
        return int(self.matrix.sum())

    @property
    def uncertain_pixels(self):
        """Ground-truth-valid pixels predicted 255."""
        return int(self.matrix[:, -1].sum())

    def uncertain_share(self):
        """Share of gt-valid pixels predicted 255."""
        return self.uncertain_pixels / self.valid_pixels if self.valid_pixels else math.nan

    def coverage(self):
        """Share of gt-valid pixels given a class (1 - uncertain_share)."""
        return 1.0 - self.uncertain_share() if self.valid_pixels else math.nan

    def to_dict(self, class_names=None):
        """JSON-ready summary; NaN IoUs become None.

        ``class_names``: num_classes names, or the num_classes - 1 foreground
        names of a dataset ('background' is then prepended).
        """
        names = list(class_names) if class_names is not None else \
            [str(i) for i in range(self.num_classes)]
        if len(names) == self.num_classes - 1:
            names = ['background'] + names
        if len(names) != self.num_classes:
            raise ValueError(f'{len(names)} class names for {self.num_classes} classes')

        def clean(value):
            return None if value is None or not math.isfinite(value) else float(value)

        iou = self.iou()
        share = self.matrix[:, -1] / np.maximum(self.matrix.sum(axis=1), 1)
        return {
            'miou': clean(self.miou()),
            'iou': {name: clean(v) for name, v in zip(names, iou)},
            'pixel_accuracy': clean(self.pixel_accuracy()),
            'coverage': clean(self.coverage()),
            'uncertain_share': clean(self.uncertain_share()),
            'uncertain_share_per_class': {
                name: clean(v) if self.matrix[i].sum() else None
                for i, (name, v) in enumerate(zip(names, share))},
            'miou_uncertain_as_background': clean(self.miou('background')),
            'miou_uncertain_as_miss': clean(self.miou('miss')),
            'valid_pixels': self.valid_pixels,
            'num_images': self.num_images,
        }


def _foreground_peak(maps, classes):
    """Per pixel: the largest map value and the class index (1..C) it belongs to."""
    classes = np.asarray(classes, dtype=np.int64).reshape(-1)
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3 or len(maps) != len(classes):
        raise ValueError(f'maps must be (K, H, W) with K = {len(classes)} classes, '
                         f'got shape {maps.shape}')
    if not len(classes):
        return np.full(maps.shape[1:], -np.inf, np.float32), np.zeros(maps.shape[1:], np.int64)
    arg = maps.argmax(axis=0)
    peak = np.take_along_axis(maps, arg[None], axis=0)[0]
    return peak, classes[arg]


def threshold_sweep(items, thresholds=None, num_classes=21):
    """Score ``seed_label(maps, classes, t)`` for every threshold t in one pass.

    ``items`` yields (maps, classes, gt) one image at a time (any iterable, so
    images are loaded lazily and memory stays at one image plus one
    (num_classes x (num_classes+1)) matrix per threshold). SEAM/MCTformer's
    ``--curve`` stops at 0.60, below where BAS maps peak.

    A pixel whose largest map value is v is the peak class for thresholds
    t < v and background for t >= v (ties go to background, as in
    ``seed_label``). So each pixel is binned once by k = #{t < v} and the
    per-threshold matrices follow from cumulative sums over k: one
    ``bincount`` per image instead of one per image and threshold.
    Default thresholds: ``DEFAULT_SEED_THRESHOLDS``, 0.00..0.95 step 0.01.

    Returns a dict: ``thresholds``, ``miou`` (lists, in the order given),
    ``best_index``, ``best_threshold``, ``best_miou`` (the first maximum),
    ``best_iou`` (per-class list, NaN where undefined), ``num_images``, and
    ``matrices`` (one ConfusionMatrix per threshold).
    """
    if thresholds is None:
        thresholds = sweep_thresholds()
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if not thresholds.size:
        raise EvaluationError('the threshold sweep is empty; check --thresholds START STOP STEP '
                              '(START <= STOP).')
    order = np.argsort(thresholds, kind='stable')
    # compared in float32, like seed_label's float32 background channel
    sorted_t = thresholds[order].astype(np.float32)
    n = int(num_classes)
    cells = n * (n + 1)
    n_bins = len(sorted_t) + 1
    # hist_fg[k] / hist_bg[k]: counts of pixels with k thresholds below their peak,
    # coded as if predicted their peak class / predicted background.
    hist_fg = np.zeros((n_bins, cells), np.int64)
    hist_bg = np.zeros((n_bins, cells), np.int64)
    num_images = 0
    for maps, classes, gt in items:
        gt = np.asarray(gt)
        peak, peak_class = _foreground_peak(maps, classes)
        if peak.shape != gt.shape:
            raise ValueError(f'maps are {peak.shape} but the ground truth is {gt.shape}')
        valid = gt != IGNORE_INDEX
        gt_v = gt[valid].astype(np.int64)
        if gt_v.size and (gt_v.min() < 0 or gt_v.max() >= n):
            raise ValueError(f'ground truth holds classes outside 0..{n - 1} (and 255)')
        if len(classes) and np.max(classes) >= n:
            raise ValueError(f'classes {list(classes)} outside 1..{n - 1}')
        k = np.searchsorted(sorted_t, peak[valid], side='left')
        code_fg = gt_v * (n + 1) + peak_class[valid]
        code_bg = gt_v * (n + 1)
        hist_fg += np.bincount(k * cells + code_fg, minlength=n_bins * cells).reshape(n_bins, cells)
        hist_bg += np.bincount(k * cells + code_bg, minlength=n_bins * cells).reshape(n_bins, cells)
        num_images += 1
    # threshold j (sorted): fg for pixels with k > j, bg for k <= j
    bg_upto = np.cumsum(hist_bg, axis=0)[:-1]
    fg_above = np.cumsum(hist_fg[::-1], axis=0)[::-1][1:]
    matrices = [None] * len(thresholds)
    for j, original in enumerate(order):
        cm = ConfusionMatrix(n)
        cm.matrix = (bg_upto[j] + fg_above[j]).reshape(n, n + 1)
        cm.num_images = num_images
        matrices[original] = cm
    mious = [cm.miou() for cm in matrices]
    scores = np.nan_to_num(np.asarray(mious, dtype=np.float64), nan=-np.inf)
    best = int(np.argmax(scores))
    return {
        'thresholds': [float(t) for t in thresholds],
        'miou': mious,
        'best_index': best,
        'best_threshold': float(thresholds[best]),
        'best_miou': mious[best],
        'best_iou': matrices[best].iou().tolist(),
        'num_images': num_images,
        'matrices': matrices,
    }


def plot_sweep(result, path, title=None):
    """PNG of mIoU (%) against the background threshold, best point marked.

    Uses matplotlib's Agg canvas directly (no pyplot, no global backend
    switch) and writes atomically.
    """
    # Imported here: matplotlib is needed for the plot only, and is slow to import.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    thresholds = np.asarray(result['thresholds'], dtype=np.float64)
    miou = np.asarray(result['miou'], dtype=np.float64) * 100
    order = np.argsort(thresholds)
    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(thresholds[order], miou[order], marker='.', linewidth=1.2)
    best_t, best_m = result['best_threshold'], result['best_miou'] * 100
    ax.plot([best_t], [best_m], marker='o', color='tab:red', markersize=8, linestyle='none',
            label=f'best {best_m:.2f} at t={best_t:.2f}')
    ax.axvline(best_t, color='tab:red', linewidth=0.8, linestyle=':')
    ax.set_xlabel('background threshold')
    ax.set_ylabel('mIoU (%)')
    ax.set_title(title or f'seed threshold sweep ({result.get("num_images", "?")} images)')
    ax.grid(True, alpha=0.3)
    ax.legend(loc='lower center')
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png')
    return path


# -- folders on disk (tools/eval_labels.py) ---------------------------------


def _gt_or_error(source, image_id):
    gt = source.gt_mask(image_id)
    if gt is None:
        raise MissingFilesError(f'no ground-truth mask for {image_id!r} in {source.data_root}; '
                                'evaluate a split that has GT (e.g. VOC train or val).')
    return gt


def _ids_with_files(folder, suffix, source):
    """Ids of ``source`` that have ``folder/<id><suffix>``; raise if there is none."""
    folder = Path(folder)
    ids = [i for i in source.ids if (folder / f'{i}{suffix}').is_file()]
    if not ids:
        raise MissingFilesError(f'{folder} holds no {suffix} file for any of the '
                                f'{len(source.ids)} images of the split; check the folder and '
                                '--split.')
    return ids


def missing_ids(folder, suffix, source):
    """Ids of ``source`` (the split) with no ``folder/<id><suffix>``, in split order."""
    folder = Path(folder)
    return [i for i in source.ids if not (folder / f'{i}{suffix}').is_file()]


def check_complete(folder, suffix, source, what):
    """Raise ``IncompleteFolderError`` when ``folder`` lacks files of the split,
    naming how many and the first ids."""
    missing = missing_ids(folder, suffix, source)
    if missing:
        raise IncompleteFolderError(
            f'{folder} lacks the {what} of {len(missing)} of the {len(source.ids)} images of the '
            f'split (first: {", ".join(missing[:5])}); finish it (re-run '
            'tools/make_pseudo_labels.py with the same command), check --split, or pass '
            '--allow-partial to score the images that are there.')
    return missing


def _failure(failed, image_id, err):
    """Record one image that could not be scored; the sweep goes on without it."""
    failed[image_id] = f'{type(err).__name__}: {err}'
    logger.error('image %s skipped: %s', image_id, failed[image_id])


def _check_scored(ids, failed, folder):
    if len(failed) == len(ids):
        first = next(iter(failed.values()))
        raise EvaluationError(f'none of the {len(ids)} images of {folder} could be scored; '
                              f'the first error: {first}')


# Per-image problems (a corrupt file, a mask of the wrong size) skip the image;
# they are counted in the result, and tools/eval_labels.py exits non-zero.
IMAGE_ERRORS = (ValueError, OSError)


def _read_maps(path):
    """(maps float32 (K, H, W), classes int64) of one maps file; ValueError naming it."""
    try:
        with np.load(path) as data:
            return data['maps'].astype(np.float32), data['classes'].astype(np.int64)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f'cannot read maps file {path} ({type(err).__name__}: {err}); '
                         'delete it and re-run tools/make_pseudo_labels.py --save-cams.') from err


def evaluate_seed_dir(cams_dir, source, thresholds=None, progress=True):
    """Threshold sweep over ``cams_dir/<id>.npz`` against the source's GT.

    Only ids of the split with a maps file count; ``num_missing`` says how
    many had none. Images whose maps or GT cannot be read, or disagree in
    size, are skipped and listed in ``failed`` (``num_failed``).
    """
    ids = _ids_with_files(cams_dir, '.npz', source)
    failed = {}

    def items():
        for image_id in tqdm(ids, desc='seed sweep', unit='img', disable=not progress):
            path = Path(cams_dir) / f'{image_id}.npz'
            try:
                maps, classes = _read_maps(path)
                gt = _gt_or_error(source, image_id)
                if maps.ndim != 3 or maps.shape[1:] != gt.shape or len(maps) != len(classes):
                    raise ValueError(f'maps {path} have shape {maps.shape} for {len(classes)} '
                                     f'classes, but the GT of {image_id!r} is {gt.shape}; '
                                     'remake the maps from this dataset.')
            except IMAGE_ERRORS as err:
                _failure(failed, image_id, err)
                continue
            yield maps, classes, gt

    result = threshold_sweep(items(), thresholds, num_classes=source.num_classes + 1)
    _check_scored(ids, failed, cams_dir)
    matrices = result.pop('matrices')
    result['best'] = matrices[result['best_index']].to_dict(source.class_names)
    result.pop('best_iou')  # in 'best', by name
    result['miou'] = [None if not math.isfinite(m) else float(m) for m in result['miou']]
    result['num_missing'] = len(source.ids) - len(ids)
    result.update(num_failed=len(failed), failed=failed)
    return result


def evaluate_label_dir(labels_dir, source, progress=True):
    """mIoU of ``labels_dir/<id>.png`` against GT; 255 predictions excluded
    (and their share reported), also the 255-as-background convention.
    Unreadable or mis-sized labels / GT are skipped and listed in ``failed``."""
    ids = _ids_with_files(labels_dir, '.png', source)
    matrix = ConfusionMatrix(source.num_classes + 1)
    failed = {}
    for image_id in tqdm(ids, desc='label mIoU', unit='img', disable=not progress):
        path = Path(labels_dir) / f'{image_id}.png'
        try:
            label = read_label_png(path)
            gt = _gt_or_error(source, image_id)
            if label.shape != gt.shape:
                raise ValueError(f'label {path} is {label.shape[1]}x{label.shape[0]} but the GT '
                                 f'of {image_id!r} is {gt.shape[1]}x{gt.shape[0]} (WxH); remake '
                                 'the label from this dataset.')
            try:
                matrix.update(label, gt)
            except ValueError as err:  # classes outside the dataset's
                raise ValueError(f'{path}: {err}; remake the label from this dataset.') from err
        except IMAGE_ERRORS as err:
            _failure(failed, image_id, err)
    _check_scored(ids, failed, labels_dir)
    result = matrix.to_dict(source.class_names)
    result['num_missing'] = len(source.ids) - len(ids)
    result.update(num_failed=len(failed), failed=failed)
    return result
