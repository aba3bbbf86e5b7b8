"""Localization maps of a trained classifier for WSOL evaluation.

One forward pass per image at ``input_size`` (the whole image resized, no
crop, as wsolevaluation's test transform), then:

* ``map_kind``: one of the model's ``map_kinds`` that ``activation_maps``
  returns directly: ``'bas'`` (the generator's sigmoid maps) or ``'cam'``
  (ReLU of the class activation map, as stage 1 produces it);
* ``map_classes``: ``'topk'``: the mean of the maps of the ``topk``
  predicted classes (BAS's class-agnostic map), or ``'gt'``: the map of the
  ground-truth class (CAM / wsolevaluation; BAS with top-k = 1);
* the map is resized to the original image (bilinear) and min-max
  normalised to [0, 1].
"""
import torch
import torch.nn.functional as F

from ..maps import COMBINED_KINDS
from .metrics import normalize_scoremap

MAP_CLASSES = ('topk', 'gt')


def check_settings(model, map_kind, map_classes, topk, num_classes):
    """Refuse settings ``model`` cannot localise with (its declared ``map_kinds``;
    one forward pass gives only the direct kinds, not the combined ones)."""
    usable = [k for k in model.map_kinds if k not in COMBINED_KINDS]
    if map_kind not in usable:
        raise ValueError(f'wsol.map_kind must be one of {usable} for {type(model).__name__}, '
                         f'got {map_kind!r}')
    if map_classes not in MAP_CLASSES:
        raise ValueError(f'wsol.map_classes must be one of {MAP_CLASSES}, got {map_classes!r}')
    if map_classes == 'topk' and not 1 <= int(topk) <= num_classes:
        raise ValueError(f'wsol.topk must be in 1..{num_classes}, got {topk}')


@torch.no_grad()
def predict_maps(model, inputs, map_kind):
    """(maps (B, C, h, w), probabilities (B, C)) for a normalised batch."""
    outputs = model.activation_maps(inputs)
    if map_kind not in outputs:
        raise ValueError(f'{type(model).__name__} gives no {map_kind!r} maps; use one of '
                         f'its map_kinds {tuple(model.map_kinds)}.')
    return outputs[map_kind], torch.softmax(outputs['logits'].float(), dim=1)


def select_map(maps, probabilities, gt_class, map_classes='topk', topk=1):
    """One image's (h, w) map before normalisation; ``gt_class`` is 1-based."""
    if map_classes == 'gt':
        return maps[int(gt_class) - 1]
    top = torch.topk(probabilities, int(topk)).indices
    return maps[top].mean(dim=0)


def localization_map(class_map, image_size):
    """Resize an (h, w) tensor map to ``image_size`` (H, W) and min-max normalise it."""
    resized = F.interpolate(class_map[None, None].float(), size=tuple(int(s) for s in image_size),
                            mode='bilinear', align_corners=False)[0, 0]
    return normalize_scoremap(resized.cpu().numpy())


def top_classes(probabilities, k=5):
    """The k most probable classes, 1-based, best first."""
    k = min(k, probabilities.shape[-1])
    return (torch.topk(probabilities, k).indices + 1).tolist()


__all__ = ['check_settings', 'predict_maps', 'select_map', 'localization_map', 'top_classes']
