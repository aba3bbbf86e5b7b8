"""Class activation maps -> seeds and CRF-refined pseudo labels.

Maps contract (shared with the CAM inference step): per image, ``classes`` is
an int array of the image's ground-truth classes (1..C, the dataset's class
indices) and ``maps`` a float array (K, H, W) at image size, ``maps[i]`` being
the map of ``classes[i]`` max-normalised to [0, 1]. Every label built here is
an HxW uint8 array in the dataset's class-index space: 0 background, 1..C the
classes, 255 (``IGNORE_INDEX``) uncertain.

Only the background and the image's own classes take part (K + 1 labels), as
IRN and CLIP-ES do: a class the image-level label rules out can never appear,
and a dense CRF costs roughly linearly in the label count (3 labels take about
0.3-0.5 s on a VOC image, 21 labels about 2.5 s; see benchmarks/bench_crf.py).
"""
import numpy as np

from wsss_core.crf import check_crf_image, dense_crf
from wsss_core.io import IGNORE_INDEX

# Every knob of ``make_pseudo_label``; a config overrides any subset.
DEFAULT_REFINE_CFG = dict(
    # 'irn': confident regions from two label-CRFs (IRN cam_to_ir_label);
    # 'softmax': one probability CRF, low-confidence pixels -> 255.
    scheme='irn',
    # irn scheme: constant background score for the foreground-confident and
    # the background-confident label (IRN: conf_fg_thres 0.30, conf_bg_thres
    # 0.05; ReCAM COCO 0.35/0.10; AMN 0.45/0.15).
    fg_threshold=0.30,
    bg_threshold=0.05,
    # softmax scheme: background channel ('power': (1 - max)^alpha as PSA,
    # SEAM and CLIP-ES; 'threshold': the constant bg_constant), and the CRF
    # probability a pixel needs to keep its label. alpha 1 is CLIP-ES's; to
    # work at a seed threshold t use alpha_for_threshold(t).
    bg_mode='power',
    alpha=1.0,
    bg_constant=0.15,
    confidence=0.95,
    # CRF: a wsss_core.crf.CRF_PRESETS name (None: 'label' for irn, 'deeplab' for softmax,
    # see make_pseudo_label) and overrides of its numbers, e.g.
    # {'bilateral_srgb': 10}.
    crf=None,
    crf_overrides={},
)


def background_scores(maps, mode='threshold', threshold=0.15, alpha=1.0):
    """Prepend a background channel to ``maps``: (K, H, W) -> (K+1, H, W) float32.

    * ``mode='threshold'``: ``bg = threshold`` everywhere (IRN ``eval_cam``,
      the seed sweep). After an argmax a pixel is foreground iff some class
      map exceeds the threshold: one global knob for max-normalised maps.
    * ``mode='power'``: ``bg = (1 - max_k maps_k) ** alpha`` (PSA, SEAM,
      CLIP-ES). Background is likely where no class fires; since maps lie in
      [0, 1], a larger ``alpha`` shrinks bg and grows the foreground (PSA
      uses alpha 4 for a "low" and 32 for a "high" background, CLIP-ES 1).
      With no classes (K = 0) the background is 1.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f'maps must be (K, H, W), got shape {maps.shape}')
    if mode == 'threshold':
        bg = np.full((1,) + maps.shape[1:], threshold, dtype=np.float32)
    elif mode == 'power':
        if alpha <= 0:
            raise ValueError(f'alpha must be > 0, got {alpha}')
        peak = maps.max(axis=0, keepdims=True) if len(maps) else \
            np.zeros((1,) + maps.shape[1:], np.float32)
        bg = np.power(np.clip(1.0 - peak, 0.0, 1.0), alpha, dtype=np.float32)
    else:
        raise ValueError(f"unknown background mode {mode!r}; use 'threshold' or 'power'")
    return np.concatenate([bg, maps], axis=0)


def alpha_for_threshold(threshold):
    """The power-background exponent that splits like a constant threshold.

    A pixel with a single class of score m is foreground under
    ``bg = (1 - m)^alpha`` iff m > (1 - m)^alpha; the switch is at m = t when
    ``alpha = ln t / ln(1 - t)``. So alpha 1 <-> t 0.5, 2.15 <-> 0.37,
    3.38 <-> 0.30, 11.7 <-> 0.15: the seed sweep's best threshold gives the
    alpha for the softmax scheme (with several classes the two differ only
    where maps overlap).
    """
    threshold = float(threshold)
    if not 0 < threshold < 1:
        raise ValueError(f'threshold must be in (0, 1), got {threshold}')
    return float(np.log(threshold) / np.log1p(-threshold))


def _check_maps(maps, classes, shape=None):
    """Validate the maps contract; return (float32 maps, int64 classes)."""
    classes = np.asarray(classes, dtype=np.int64).reshape(-1)
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f'maps must be (K, H, W), got shape {maps.shape}')
    if len(maps) != len(classes):
        raise ValueError(f'{len(maps)} maps for {len(classes)} classes {classes.tolist()}')
    if shape is not None and maps.shape[1:] != tuple(shape):
        raise ValueError(f'maps are {maps.shape[1:]} but the image is {tuple(shape)} (HxW); '
                         'maps must be at image size')
    if len(classes) and (classes.min() < 1 or classes.max() >= IGNORE_INDEX):
        raise ValueError(f'classes must be 1-based indices below {IGNORE_INDEX}, '
                         f'got {classes.tolist()}')
    if len(np.unique(classes)) != len(classes):
        raise ValueError(f'classes repeat: {classes.tolist()}')
    if not np.isfinite(maps).all():
        raise ValueError('maps hold NaN or infinite values')
    return maps, classes


def _to_class_space(index_map, classes):
    """Map channel indices (0 = bg, i = classes[i-1]) to dataset class indices."""
    keys = np.concatenate([[0], classes]).astype(np.uint8)
    return keys[index_map]


def seed_label(maps, classes, threshold=0.15):
    """Seed: argmax over [threshold, maps...], in class-index space (HxW uint8).

    A pixel takes the class of its largest map if that map exceeds the
    constant background ``threshold``, else 0; a tie goes to the background
    (IRN ``eval_cam``). No 255: a seed decides every pixel.
    """
    maps, classes = _check_maps(maps, classes)
    if not len(classes):
        return np.zeros(maps.shape[1:], np.uint8)
    scores = background_scores(maps, 'threshold', threshold)
    return _to_class_space(scores.argmax(axis=0), classes)


def resolve_refine_cfg(cfg=None):
    """DEFAULT_REFINE_CFG updated with ``cfg``; unknown keys are an error."""
    cfg = dict(cfg or {})
    unknown = set(cfg) - set(DEFAULT_REFINE_CFG)
    if unknown:
        raise ValueError(f'unknown refine option(s) {sorted(unknown)}; '
                         f'known: {sorted(DEFAULT_REFINE_CFG)}')
    resolved = dict(DEFAULT_REFINE_CFG, **cfg)
    if resolved['scheme'] not in ('irn', 'softmax'):
        raise ValueError(f"unknown scheme {resolved['scheme']!r}; use 'irn' or 'softmax'")
    if not 0 < resolved['confidence'] <= 1:
        raise ValueError(f"confidence must be in (0, 1], got {resolved['confidence']}")
    return resolved


def _crf_setting(cfg, kind, default=None):
    params = dict(cfg['crf_overrides'] or {})
    params['preset'] = cfg['crf'] or default or kind
    return params


def make_pseudo_label(image, maps, classes, cfg=None):
    """CRF-refined pseudo label (HxW uint8: 0 bg, 1..C, 255 uncertain).

    ``scheme='irn'`` (default; IRN ``cam_to_ir_label``): two label-CRFs.
      1. fg-confident: argmax over [fg_threshold, maps] then CRF. A high
         background score keeps only strong activations as foreground.
      2. bg-confident: argmax over [bg_threshold, maps] then CRF. A low
         background score makes everything with any activation foreground,
         so what stays background is background with confidence.
      label = fg-confident class where it names one; 0 where both CRFs say
      background; 255 where only the fg-confident one does (the band between
      the two thresholds, which a downstream model must not learn from).

    ``scheme='softmax'``: one probability CRF on [bg, maps] / sum, bg =
      ``background_scores(bg_mode, bg_constant, alpha)``; each pixel takes
      its argmax where the CRF posterior reaches ``confidence``, else 255.
      Defaults follow CLIP-ES, the published softmax-CRF pseudo-label recipe
      (75.0 mIoU on VOC train): alpha 1, confidence 0.95 and the 'deeplab'
      CRF. Measured on 15 real VOC images with GT-derived stride-16 maps, the
      PSA/SEAM 'softmax' CRF (srgb 13, compat 10) over-smooths (mIoU 0.88
      vs 0.95 for 'deeplab' at alpha 3.4; pass crf='softmax' to use it), and
      confidence barely matters: mean-field posteriors are peaked, 0.8..0.95
      all leave 98.5-99.7 % of the pixels decided.
      alpha matters most: pick it with ``alpha_for_threshold`` from the
      seed sweep (alpha 1 splits at map value 0.5, too high for most CAMs).

    Only the background and ``classes`` are CRF labels, so absent classes
    never appear; with no classes the label is all background.
    """
    cfg = resolve_refine_cfg(cfg)
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f'image must be HxWx3, got shape {image.shape}')
    maps, classes = _check_maps(maps, classes, image.shape[:2])
    if not len(classes):
        check_crf_image(image, image.shape[:2])  # still refuse a wrong image
        return np.zeros(image.shape[:2], np.uint8)
    n_labels = len(classes) + 1

    if cfg['scheme'] == 'irn':
        crf = _crf_setting(cfg, 'label')
        fg_seed = background_scores(maps, 'threshold', cfg['fg_threshold']).argmax(axis=0)
        fg = dense_crf(image, 'label', fg_seed, n_labels, crf).argmax(axis=0)
        bg_seed = background_scores(maps, 'threshold', cfg['bg_threshold']).argmax(axis=0)
        bg = dense_crf(image, 'label', bg_seed, n_labels, crf).argmax(axis=0)
        label = _to_class_space(fg, classes)
        label[(fg == 0) & (bg != 0)] = IGNORE_INDEX
        return label

    crf = _crf_setting(cfg, 'softmax', default='deeplab')
    probs = background_scores(maps, cfg['bg_mode'], cfg['bg_constant'], cfg['alpha'])
    probs /= np.maximum(probs.sum(axis=0, keepdims=True), 1e-12)
    q = dense_crf(image, 'softmax', probs, n_labels, crf)
    label = _to_class_space(q.argmax(axis=0), classes)
    label[q.max(axis=0) < cfg['confidence']] = IGNORE_INDEX
    return label
