"""Dense-CRF post-processing of segmentation scores (``tools/test_seg.py --crf``).

WSSS papers report stage-2 numbers after a fully connected CRF over the
softmax of *all* classes, with deeplab-pytorch's parameters (Gaussian sxy 1,
compat 3; bilateral sxy 67, srgb 3, compat 4; 10 mean-field iterations):
``wsss_core.crf``'s ``'deeplab'`` preset, reused here so both stages run
the same CRF code. Cost grows with the class count (on one core about 2.5 s
for a 500x375 VOC image with 21 classes, 8 s with COCO's 81).
"""
import numpy as np
from mmengine import fileio
import mmcv

from wsss_core.crf import crf_params, dense_crf

DEFAULT_CRF = dict(preset='deeplab')


def read_rgb(img_path):
    """The image as the test pipeline decoded it (``LoadImageFromFile``), in RGB."""
    return mmcv.imfrombytes(fileio.get(img_path), flag='color', channel_order='rgb')


def crf_refine(image, probs, params=None):
    """Refine ``probs`` (C, H, W, softmax) against the uint8 RGB ``image``
    (H, W, 3); returns the CRF marginals Q (C, H, W) float32."""
    probs = np.ascontiguousarray(probs, dtype=np.float32)
    return dense_crf(image, 'softmax', probs, params=dict(params or DEFAULT_CRF))


def check_crf_params(params):
    """Resolve ``params`` now (a config typo fails before the test runs)."""
    return crf_params('softmax', dict(params or DEFAULT_CRF))
