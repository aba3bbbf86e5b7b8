"""The fully connected (dense) CRF both stages run: stage 1 refines class maps
into pseudo-labels with it (``stage1_cam.refine``), stage 2 post-processes
segmentation scores (``stage2_seg.crf``, ``tools/test_seg.py --crf``).
"""
import numpy as np

# Dense-CRF parameter sets (Krahenbuhl & Koltun 2011 as wrapped by pydensecrf).
# Both use a smoothness kernel (Gaussian on position: sxy, compat) and an
# appearance kernel (bilateral on position and RGB colour: sxy, srgb, compat),
# and 10 mean-field iterations.
#   'label':   IRN ``crf_inference_label`` (also AdvCAM, ReCAM, AMN, ToCo, DuPL):
#              unary from a hard label map, the label believed with gt_prob 0.7.
#   'softmax': PSA / SEAM ``crf_inference``: unary = -log(probability).
#   'deeplab': deeplab-pytorch ``DenseCRF`` (CLIP-ES pseudo masks): softmax unary,
#              narrower smoothness and colour kernels.
# ``unary`` names the kind of input the preset expects; ``clip`` is the
# probability floor before the log (pydensecrf's ``unary_from_softmax`` default).
CRF_PRESETS = {
    'label': dict(unary='label', gt_prob=0.7, gauss_sxy=3, gauss_compat=3,
                  bilateral_sxy=50, bilateral_srgb=5, bilateral_compat=10, iterations=10),
    'softmax': dict(unary='softmax', clip=1e-5, gauss_sxy=3, gauss_compat=3,
                    bilateral_sxy=80, bilateral_srgb=13, bilateral_compat=10, iterations=10),
    'deeplab': dict(unary='softmax', clip=1e-5, gauss_sxy=1, gauss_compat=3,
                    bilateral_sxy=67, bilateral_srgb=3, bilateral_compat=4, iterations=10),
}


def crf_params(kind, params=None):
    """The numbers a CRF runs with: a preset, updated with ``params``.

    ``params`` is None, a CRF_PRESETS name, or a dict of overrides that may
    name its base preset under ``'preset'`` (default: the preset called
    ``kind``). Unknown keys are an error, so a typo cannot pass silently.
    """
    if isinstance(params, str):
        params = {'preset': params}
    params = dict(params or {})
    name = params.pop('preset', kind)
    if name not in CRF_PRESETS:
        raise ValueError(f'unknown CRF preset {name!r}; choose one of {sorted(CRF_PRESETS)}')
    resolved = dict(CRF_PRESETS[name])
    unknown = set(params) - set(resolved)
    if unknown:
        raise ValueError(f'unknown CRF parameter(s) {sorted(unknown)} for preset {name!r}; '
                         f'known: {sorted(resolved)}')
    resolved.update(params)
    if resolved['unary'] != kind:
        raise ValueError(f'CRF preset {name!r} takes a {resolved["unary"]!r} unary, '
                         f'but a {kind!r} unary was given')
    return resolved


def check_crf_image(image, shape):
    """The RGB image as pydensecrf needs it: C-contiguous uint8 HxWx3.

    Anything else is refused rather than cast: casting a mean-subtracted or
    [0, 1] float image to uint8 wraps or flattens the colours that the
    bilateral kernel compares (the CLIP-ES ``eval_cam_with_crf`` bug).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f'the CRF image must be uint8 RGB (0..255), got {image.dtype}; '
                         'pass the original image, not a normalised tensor')
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'the CRF image must be HxWx3 RGB, got shape {image.shape}')
    if image.shape[:2] != tuple(shape):
        raise ValueError(f'image is {image.shape[:2]} but the unary is {tuple(shape)} (HxW)')
    return np.ascontiguousarray(image)


def dense_crf(image, unary_kind, unary, n_labels=None, params=None):
    """Fully connected CRF over ``n_labels`` labels; returns Q (L, H, W) float32.

    Energy of a labelling x: sum_i U_i(x_i) + sum_{i<j} mu(x_i, x_j) k(f_i, f_j),
    with Potts compatibility mu and k = w_g exp(-|p_i-p_j|^2 / 2 sxy_g^2)
    + w_b exp(-|p_i-p_j|^2 / 2 sxy_b^2 - |I_i-I_j|^2 / 2 srgb^2). The bilateral
    term pulls label boundaries onto colour edges; ``iterations`` mean-field
    steps approximate the posterior marginals Q.

    * ``unary_kind='label'``: ``unary`` is an HxW int map of labels 0..L-1
      (``n_labels`` required: a label may be absent from the map). Unary =
      -log(gt_prob) for the given label, -log((1 - gt_prob)/(L - 1)) for the
      others (IRN's ``unary_from_labels(..., zero_unsure=False)``).
    * ``unary_kind='softmax'``: ``unary`` is (L, H, W) non-negative scores;
      unary = -log(max(p, clip)). Scores need not sum to one: a per-pixel
      factor adds the same constant to every label's energy and cancels in Q.

    ``params``: see ``crf_params`` (None = the preset named ``unary_kind``).
    """
    # Imported here: a compiled extension that only CRF users need (stage 2
    # builds and tests without --crf on a machine that lacks it).
    import pydensecrf.densecrf as dcrf

    p = crf_params(unary_kind, params)
    unary = np.asarray(unary)
    if unary_kind == 'label':
        if unary.ndim != 2:
            raise ValueError(f'a label unary is HxW, got shape {unary.shape}')
        if n_labels is None:
            raise ValueError('n_labels is required with a label unary')
        height, width = unary.shape
        labels = unary.reshape(-1).astype(np.intp)
        if labels.size and (labels.min() < 0 or labels.max() >= n_labels):
            raise ValueError(f'label unary holds values outside 0..{n_labels - 1}')
        if not 0 < p['gt_prob'] < 1:
            raise ValueError(f'gt_prob must be in (0, 1), got {p["gt_prob"]}')
    elif unary_kind == 'softmax':
        if unary.ndim != 3:
            raise ValueError(f'a softmax unary is (L, H, W), got shape {unary.shape}')
        if n_labels is not None and n_labels != unary.shape[0]:
            raise ValueError(f'n_labels={n_labels} but the unary has {unary.shape[0]} channels')
        n_labels, height, width = unary.shape
    else:
        raise ValueError(f"unknown unary kind {unary_kind!r}; use 'label' or 'softmax'")
    rgb = check_crf_image(image, (height, width))
    if n_labels == 1:  # nothing to decide
        return np.ones((1, height, width), np.float32)

    if unary_kind == 'label':
        energy = np.full((n_labels, labels.size), -np.log((1 - p['gt_prob']) / (n_labels - 1)),
                         dtype=np.float32)
        energy[labels, np.arange(labels.size)] = -np.log(p['gt_prob'])
    else:
        energy = -np.log(np.maximum(unary.reshape(n_labels, -1).astype(np.float32), p['clip']))
        energy = np.ascontiguousarray(energy, dtype=np.float32)

    crf = dcrf.DenseCRF2D(width, height, n_labels)
    crf.setUnaryEnergy(energy)
    crf.addPairwiseGaussian(sxy=p['gauss_sxy'], compat=p['gauss_compat'])
    crf.addPairwiseBilateral(sxy=p['bilateral_sxy'], srgb=p['bilateral_srgb'], rgbim=rgb,
                             compat=p['bilateral_compat'])
    q = crf.inference(int(p['iterations']))
    return np.asarray(q, dtype=np.float32).reshape(n_labels, height, width)
