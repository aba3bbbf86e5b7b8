"""Confident-region thresholds that follow the maps (``refine.fg_threshold='auto'``).

The IRN scheme labels a pixel foreground where its map beats a constant
background ``fg_threshold``, background where it does not beat
``bg_threshold``, and 255 in between. Fixed numbers fit only the maps they
were chosen for: IRN's 0.30 / 0.05 sit around its CAMs' seed optimum (0.15),
while BAS generator maps peak at 0.6-0.9. So 'auto' places the pair around
the seed optimum ``t`` of the same maps, at IRN's distances measured in
log-odds (so they stay inside (0, 1) for any ``t``)::

    fg = sigmoid(logit(t) + logit(0.30) - logit(0.15))   # +0.89 log-odds
    bg = sigmoid(logit(t) + logit(0.05) - logit(0.15))   # -1.21 log-odds

``t = 0.15`` gives IRN's pair back. ``t`` is the best threshold of the seed
sweep on a split with ground truth (the pipeline's ``eval_split``). Data
without ground truth uses Otsu's threshold of the per-pixel peak map values
over the images to label: the split point between the low (background) and
high (object) modes of the maps, found from the maps alone.
"""
import math

import numpy as np

IRN_SEED_THRESHOLD, IRN_FG_THRESHOLD, IRN_BG_THRESHOLD = 0.15, 0.30, 0.05
HISTOGRAM_BINS = 200


def _logit(p):
    return math.log(p / (1.0 - p))


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


FG_LOGIT_OFFSET = _logit(IRN_FG_THRESHOLD) - _logit(IRN_SEED_THRESHOLD)
BG_LOGIT_OFFSET = _logit(IRN_BG_THRESHOLD) - _logit(IRN_SEED_THRESHOLD)


def confident_thresholds(seed_threshold):
    """(fg_threshold, bg_threshold) around a seed optimum, rounded to 0.01."""
    t = float(np.clip(seed_threshold, 0.01, 0.99))
    fg = _sigmoid(_logit(t) + FG_LOGIT_OFFSET)
    bg = _sigmoid(_logit(t) + BG_LOGIT_OFFSET)
    return round(min(fg, 0.99), 2), round(max(bg, 0.01), 2)


def wants_auto(refine_cfg):
    """True when the refine settings ask for thresholds derived from the maps."""
    refine_cfg = refine_cfg or {}
    return 'auto' in (refine_cfg.get('fg_threshold'), refine_cfg.get('bg_threshold'))


def resolve_refine(refine_cfg, seed_threshold):
    """The refine settings with each 'auto' threshold replaced by its derived number."""
    fg, bg = confident_thresholds(seed_threshold)
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
