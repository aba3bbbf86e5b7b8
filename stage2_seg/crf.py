"""Dense-CRF post-processing of segmentation scores (``tools/test_seg.py --crf``).

WSSS papers report stage-2 numbers after a fully connected CRF over the
softmax of the classes, with deeplab-pytorch's parameters (Gaussian sxy 1,
compat 3; bilateral sxy 67, srgb 3, compat 4; 10 mean-field iterations):
``wsss_core.crf``'s ``'deeplab'`` preset, reused here so both stages run
the same CRF code. Its cost is linear in the number of labels
(``benchmarks/results/test_crf.json``).

**Probability floor** (``crf['prob_floor']``, default ``DEFAULT_PROB_FLOOR``
= 0.01): only the classes whose softmax reaches the floor at some pixel enter
the CRF; the others get marginal 0 and are never predicted. Why this keeps
the result: every pixel's most probable class has at least 1/C (1/81 = 0.0123
on COCO, 1/21 on VOC), so a floor below 1/C only drops classes that are at no
pixel the most probable; after mean field such a class could win a pixel only
where its marginals around that pixel outweigh every kept class's, and they
start below the floor everywhere. It can still move a
pixel: removing a class removes its small mass from each pixel's
normalisation. ``prob_floor=0`` keeps every class and is exactly the full
CRF (``tests/test_stage2_test_crf.py``); the benchmark counts the pixels
whose argmax differs from the full CRF's. How much the floor saves depends on
the model: an overconfident one leaves most of COCO's 81 classes far below
1%, a hesitant one spreads mass at object boundaries over many of them.
"""
import numpy as np
from mmengine import fileio
import mmcv

from wsss_core.crf import crf_params, dense_crf

# Classes that never reach 1% anywhere in an image are left out of its CRF.
DEFAULT_PROB_FLOOR = 0.01
DEFAULT_CRF = dict(preset='deeplab')


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


def check_crf_params(params):
    """Resolve ``params`` now (a config typo fails before the test runs);
    returns the wsss_core CRF numbers with the floor under ``'prob_floor'``."""
    crf_cfg, floor = split_crf_cfg(params)
    return dict(crf_params('softmax', crf_cfg), prob_floor=floor)
