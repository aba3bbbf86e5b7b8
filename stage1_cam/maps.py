"""Activation maps of a trained classifier: multi-scale + flip, normalised, fused.

For each scale s (1.0, 0.5, 1.5, 2.0 by default, as IRN and BAS) the image
is resized (bicubic), run together with its horizontal flip (one batch of 2
per scale; ``batch_views=False`` runs one view at a time), the flip's map
is flipped back and added, and the result is resized to the image size and
summed over scales. Only the image's ground-truth classes are kept, each
divided by its maximum (the reference's ``max + 1e-5``).

Map kinds: a model's ``activation_maps`` returns the kinds it makes directly
(``bas``: the generator's sigmoid maps; ``cam``: ReLU of the class activation
map); ``COMBINED_KINDS`` are made from those (``fused`` = norm(norm(bas) +
norm(cam)), the BAS-Extension ``make_cam.py`` fusion, here with both from the
same network). Which kinds a method offers is its class's ``map_kinds``.
"""
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.runner import load_checkpoint

from wsss_core.checkpoint import allow_mmengine_checkpoints
from wsss_core.config import load_config
from wsss_core.errors import UserError

from .datasets.transforms import resize_image, to_chw_tensor
from .models import build_model

DEFAULT_SCALES = (1.0, 0.5, 1.5, 2.0)
# Kinds computed from other kinds, and what each is made of.
COMBINED_KINDS = {'fused': ('bas', 'cam')}


def direct_kinds(kind):
    """The kinds ``activation_maps`` must give to make ``kind``."""
    return COMBINED_KINDS.get(kind, (kind,))


def load_classifier(config, checkpoint, device='cpu'):
    """Build the stage-1 model of ``config`` and load ``checkpoint`` (eval mode).

    The backbone's ImageNet weights are not needed (the checkpoint holds all
    weights), so the backbone is built with ``pretrained=None``.
    """
    cfg = load_config(config)
    model_cfg = cfg.model.copy()
    model_cfg['backbone'] = dict(model_cfg['backbone'], pretrained=None)
    model = build_model(model_cfg)
    allow_mmengine_checkpoints()
    load_checkpoint(model, str(checkpoint), map_location='cpu', strict=True, logger='silent')
    return model.to(device).eval()


class NonFiniteMapsError(UserError, ValueError):
    """A classifier whose activation maps hold inf or NaN (a diverged training)."""


def max_normalise(maps, eps=1e-5):
    """Divide each (K, H, W) map by its own maximum."""
    peak = maps.reshape(maps.shape[0], -1).max(dim=1).values.clamp(min=0)
    return maps / (peak[:, None, None] + eps)


def _views_at_scale(model, image, scale, batch_views=True, kinds=('bas', 'cam')):
    """Summed ``kinds`` maps of the image and its flip at one scale (dict of (C, h, w)).

    ``batch_views``: both views in one forward pass (a batch of 2), else one
    pass per view. Eval-mode layers treat batch items independently, so the
    two agree to float rounding. One pass of 2 pays the per-pass overhead
    once and gives a GPU more work at a time; on a CPU the two are about
    even (benchmarks/bench_maps.py).
    """
    height, width = image.shape[:2]
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    scaled = to_chw_tensor(resize_image(image, size, 'bicubic'))
    device = next(model.parameters()).device
    views = [torch.stack([scaled, scaled.flip(-1)])] if batch_views \
        else [scaled[None], scaled.flip(-1)[None]]
    outputs = {}
    for batch in views:
        inputs = model.data_preprocessor({'inputs': batch.to(device)}, False)['inputs']
        for kind, maps in model.activation_maps(inputs).items():
            if kind in kinds:
                outputs.setdefault(kind, []).append(maps)
    summed = {}
    for kind, maps in outputs.items():
        maps = torch.cat(maps)  # view 0 is the image, view 1 its flip: flip it back
        summed[kind] = maps[0] + maps[1].flip(-1)
    return summed


@torch.no_grad()
def multiscale_maps(model, image, classes, kind='bas', scales=DEFAULT_SCALES, batch_views=True):
    """(K, H, W) float32 maps of ``classes`` (1-based), max-normalised per class.

    ``kind``: one of the model's ``map_kinds`` (see the module docstring).
    ``batch_views``: run each scale's image and flip as one batch (default)
    or one at a time (same maps; see ``_views_at_scale``).
    """
    offered = getattr(model, 'map_kinds', ())
    if kind not in offered:
        raise ValueError(f'{type(model).__name__} gives no {kind!r} maps; choose one of '
                         f'{tuple(offered)} (its map_kinds).')
    height, width = image.shape[:2]
    index = torch.as_tensor(np.asarray(classes, dtype=np.int64) - 1)
    if len(index) == 0:
        return np.zeros((0, height, width), np.float32)
    wanted = direct_kinds(kind)
    totals = {}
    for scale in scales:
        views = _views_at_scale(model, image, scale, batch_views, kinds=wanted)
        missing = [k for k in wanted if k not in views]
        if missing:
            raise ValueError(f'{type(model).__name__} declares {kind!r} maps but its '
                             f'activation_maps gives no {missing[0]!r}; fix its map_kinds.')
        for k in wanted:
            resized = F.interpolate(views[k][index.to(views[k].device)][None].float(),
                                    size=(height, width), mode='bilinear',
                                    align_corners=False)[0]
            totals[k] = totals[k] + resized if k in totals else resized
    if kind in COMBINED_KINDS:  # the normalised sum of its parts, normalised
        maps = max_normalise(sum(max_normalise(totals[k]) for k in wanted))
    else:
        maps = max_normalise(totals[kind])
    if not bool(torch.isfinite(maps).all()):
        raise NonFiniteMapsError(
            f'{type(model).__name__} gave {kind!r} maps with inf/NaN values: its outputs '
            'overflow, so its training has probably diverged (see the loss in the train_cam '
            'log); retrain with a lower LR or check the pretrained weights.')
    return maps.clamp(min=0).cpu().numpy().astype(np.float32)
