"""Confident-region thresholds that follow the maps (``refine.fg_threshold='auto'``).

The IRN scheme labels a pixel foreground where its map beats a constant
background ``fg_threshold``, background where it does not beat
``bg_threshold``, and 255 in between. Fixed numbers fit only the maps they
were chosen for: IRN's 0.30 / 0.05 sit around its CAMs' seed optimum (0.15),
while BAS generator maps peak at 0.6-0.9. So 'auto' reads the pair off the
seed sweep of the same maps (the best threshold ``t`` and the curve around it)::

    fg = t                    # the label's foreground is the best seed's
    bg = the lowest threshold below t whose seed mIoU is within ``band``
         (default 0.10 = 10 points) of the best

Why fg sits at the optimum and not above it as in IRN: IRN's confident
labels train an affinity network whose random walk fills the 255 band, while
here a segmentation network learns from the labels directly, and a 255 band
inside the objects teaches it nothing about them. Measured on the real-photo
benchmark (seed 0): IRN's distances (fg 0.89 log-odds above the optimum)
left 27 % of BAS's pixels 255 and DeepLab 9 points below a hand-picked pair.
Why bg follows the curve: the thresholds below ``t`` that still give a
near-optimal seed are those whose extra foreground is about as often right
as wrong, so pixels in that range are the uncertain ones. A flat curve (CAM)
widens the band, a steep one (BAS) narrows it; on CAMs the 10-point band
lands near IRN's own distance (1.0-1.1 log-odds below the optimum against
IRN's 1.21).

``t`` and the curve come from the seed sweep on a split with ground truth
(the pipeline's ``eval_split``). Data without ground truth uses Otsu's
threshold of the per-pixel peak map values over the images to label (the
split point between the low (background) and high (object) modes of the
maps, found from the maps alone) for ``t``, and IRN's distance below it in
log-odds for bg::

    bg = sigmoid(logit(t) + logit(0.05) - logit(0.15))   # -1.21 log-odds
"""
import math

import numpy as np

IRN_SEED_THRESHOLD, IRN_FG_THRESHOLD, IRN_BG_THRESHOLD = 0.15, 0.30, 0.05
HISTOGRAM_BINS = 200


def _logit(p):
    return math.log(p / (1.0 - p))


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


BG_LOGIT_OFFSET = _logit(IRN_BG_THRESHOLD) - _logit(IRN_SEED_THRESHOLD)
DEFAULT_SEED_BAND = 0.10


def band_floor(thresholds, miou, best_threshold, band=DEFAULT_SEED_BAND):
    """The lowest threshold at or below ``best_threshold`` from which every
    threshold up to it scores within ``band`` of the sweep's best mIoU."""
    best = max(m for m in miou if m is not None)
    floor = best_threshold
    for threshold, score in sorted(zip(thresholds, miou), reverse=True):
        if threshold > best_threshold:
            continue
        if score is None or score < best - band:
            break
        floor = threshold
    return float(floor)


def confident_thresholds(seed_threshold, sweep=None, band=DEFAULT_SEED_BAND):
    """(fg_threshold, bg_threshold), rounded to 0.01: fg at the seed optimum,
    bg at the floor of its near-optimal band when the sweep curve
    (``{'thresholds': [...], 'miou': [...]}``) is known, else IRN's log-odds
    distance below it. bg stays at least 0.01 below fg and inside (0, 1)."""
    t = float(np.clip(seed_threshold, 0.02, 0.99))
    if sweep is not None:
        bg = band_floor(sweep['thresholds'], sweep['miou'], seed_threshold, band)
    else:
        bg = _sigmoid(_logit(t) + BG_LOGIT_OFFSET)
    fg = round(t, 2)
    return fg, round(float(np.clip(bg, 0.01, fg - 0.01)), 2)


def wants_auto(refine_cfg):
    """True when the refine settings ask for thresholds derived from the maps."""
    refine_cfg = refine_cfg or {}
    return 'auto' in (refine_cfg.get('fg_threshold'), refine_cfg.get('bg_threshold'))


def resolve_refine(refine_cfg, derived, band=DEFAULT_SEED_BAND):
    """The refine settings with each 'auto' threshold replaced by its derived
    number. ``derived``: a seed threshold, or a derivation dict with
    ``seed_threshold`` and, where the sweep had ground truth, ``sweep``."""
    if not isinstance(derived, dict):
        derived = {'seed_threshold': derived}
    fg, bg = confident_thresholds(derived['seed_threshold'], derived.get('sweep'), band)
    resolved = dict(refine_cfg)
    if resolved.get('fg_threshold') == 'auto':
        resolved['fg_threshold'] = fg
    if resolved.get('bg_threshold') == 'auto':
        resolved['bg_threshold'] = bg
    if resolved['bg_threshold'] >= resolved['fg_threshold']:
        raise ValueError(f'derived thresholds fg={resolved["fg_threshold"]} bg='
                         f'{resolved["bg_threshold"]}: bg must be below fg; set one of them '
                         'by hand in pseudo_label.refine.')
    return resolved


class PeakHistogram:
    """Histogram of per-pixel peak map values (max over the image's classes) in [0, 1]."""

    def __init__(self, bins=HISTOGRAM_BINS):
        self.counts = np.zeros(bins, np.int64)

    def add(self, maps):
        maps = np.asarray(maps, np.float32)
        if not len(maps):
            return
        peak = np.clip(maps.max(axis=0), 0.0, 1.0)
        index = np.minimum((peak * len(self.counts)).astype(np.int64), len(self.counts) - 1)
        self.counts += np.bincount(index.ravel(), minlength=len(self.counts))

    def otsu(self):
        """Otsu's threshold: the split maximising the between-class variance."""
        counts = self.counts.astype(np.float64)
        if counts.sum() == 0:
            raise ValueError('no map values to choose a threshold from')
        centres = (np.arange(len(counts)) + 0.5) / len(counts)
        weight_low = np.cumsum(counts)
        weight_high = counts.sum() - weight_low
        mass_low = np.cumsum(counts * centres)
        mean_low = mass_low / np.maximum(weight_low, 1e-12)
        mean_high = (mass_low[-1] - mass_low) / np.maximum(weight_high, 1e-12)
        between = (weight_low * weight_high * (mean_low - mean_high) ** 2)[:-1]
        # Between well-separated modes every empty bin splits equally well:
        # take the middle of that plateau, not its first bin.
        best = np.flatnonzero(between >= between.max() * (1 - 1e-9))
        split = (best[0] + best[-1]) / 2
        return round(float((split + 1) / len(counts)), 3)
