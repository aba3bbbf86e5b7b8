"""Dense-CRF post-processing of segmentation scores (``tools/test_seg.py --crf``).

WSSS papers report stage-2 numbers after a fully connected CRF over the
softmax of the classes, with deeplab-pytorch's parameters (Gaussian sxy 1,
compat 3; bilateral sxy 67, srgb 3, compat 4; 10 mean-field iterations):
``wsss_core.crf``'s ``'deeplab'`` preset, reused here so both stages run
the same CRF code. Its cost grows linearly with the number of labels
(``benchmarks/bench_test_crf.py``: at 640x480 about 0.25 CPU-s per label).

**Probability floor** (``crf['prob_floor']``, default ``DEFAULT_PROB_FLOOR``):
only the classes whose softmax reaches the floor somewhere in the image enter
the CRF; the others get marginal 0 and can never be predicted. With COCO's 81
classes a prediction rarely has more than a handful of classes above 1%, so
the CRF runs over those instead of all 81. Effect on the result: a class whose
probability stays below the floor everywhere would, in the full CRF, lose
against a class at least ``1/C`` likely at every pixel unless its neighbours
raised it by more than that ratio, which its own low probability everywhere
does not give it; removing it also removes its (small) mass from every
pixel's normalisation, which changes the kept marginals slightly.
``prob_floor=0`` keeps every class: exactly the full CRF
(``tests/test_stage2_test_crf.py``); the benchmark reports how often the
floored argmax differs from the full one.
"""
import numpy as np
from mmengine import fileio
import mmcv

from wsss_core.crf import crf_params, dense_crf

# Classes that never reach 1% anywhere in an image are left out of its CRF.
DEFAULT_PROB_FLOOR = 0.01
DEFAULT_CRF = dict(preset='deeplab')
# Keys of a stage-2 ``crf`` config that are not wsss_core CRF numbers.
STAGE2_CRF_KEYS = ('prob_floor',)


def read_rgb(img_path):
    """The image as the test pipeline decoded it (``LoadImageFromFile``), in RGB."""
    return mmcv.imfrombytes(fileio.get(img_path), flag='color', channel_order='rgb')


def split_crf_cfg(params=None):
    """(wsss_core CRF parameters, probability floor) of a stage-2 ``crf`` config."""
    params = dict(params or DEFAULT_CRF)
    floor = params.pop('prob_floor', DEFAULT_PROB_FLOOR)
    try:
        floor = float(floor)
    except (TypeError, ValueError):
        raise ValueError(f'crf.prob_floor must be a number in [0, 1), got {floor!r}') from None
    if not 0 <= floor < 1:
        raise ValueError(f'crf.prob_floor must be in [0, 1), got {floor}; 0 keeps every class')
    return params, floor


def kept_classes(probs, prob_floor):
    """Indices of the classes whose probability reaches ``prob_floor`` at some
    pixel (all of them for a floor of 0); never empty (the most probable class
    of the image is always kept)."""
    peaks = probs.reshape(len(probs), -1).max(axis=1)
    kept = np.flatnonzero(peaks >= prob_floor)
    return kept if kept.size else np.asarray([int(peaks.argmax())])


def crf_refine(image, probs, params=None):
    """Refine ``probs`` (C, H, W, softmax) against the uint8 RGB ``image``
    (H, W, 3); returns the CRF marginals Q (C, H, W) float32, 0 for the
    classes below ``params['prob_floor']`` (see the module docstring)."""
    q, _ = crf_refine_kept(image, probs, params)
    return q


def crf_refine_kept(image, probs, params=None):
    """``crf_refine`` and the indices of the classes that entered the CRF."""
    crf_cfg, floor = split_crf_cfg(params)
    probs = np.asarray(probs, dtype=np.float32)
    kept = kept_classes(probs, floor)
    # The unary takes -log of the scores as they are: no renormalisation over
    # the kept classes is needed (a per-pixel factor cancels in Q).
    q_kept = dense_crf(image, 'softmax', np.ascontiguousarray(probs[kept]), params=crf_cfg)
    q = np.zeros(probs.shape, np.float32)
    q[kept] = q_kept
    return q, kept


def crf_label(image, probs, params=None):
    """The CRF's argmax label map (H, W) int64 and the kept class indices."""
    q, kept = crf_refine_kept(image, probs, params)
    return q.argmax(axis=0), kept


def check_crf_params(params):
    """Resolve ``params`` now (a config typo fails before the test runs);
    returns the wsss_core CRF numbers with the floor under ``'prob_floor'``."""
    crf_cfg, floor = split_crf_cfg(params)
    return dict(crf_params('softmax', crf_cfg), prob_floor=floor)
