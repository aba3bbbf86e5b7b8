"""Semantic masks from COCO instance annotations: what ``tools/prepare_coco.py``
renders into GT PNGs and what ``COCOSource`` renders on the fly without a
prepared folder (rules in ``coco_prepare``'s module docstring)."""
import numpy as np

from wsss_core.dataset_files import DatasetError
from wsss_core.io import IGNORE_INDEX

CROWD_MODES = ('ignore', 'background')


def annotation_mask(ann, height, width):
    """HxW uint8 {0, 1} mask of one annotation (polygons, uncompressed or compressed RLE)."""
    # Imported here: pycocotools is needed for COCO annotations only.
    from pycocotools import mask as mask_utils
    segm = ann['segmentation']
    try:
        if isinstance(segm, list):
            rle = mask_utils.merge(mask_utils.frPyObjects(segm, height, width))
        elif isinstance(segm.get('counts'), list):
            rle = mask_utils.frPyObjects(segm, height, width)
        else:
            rle = segm
        mask = mask_utils.decode(rle)
    except (TypeError, ValueError, AttributeError, KeyError) as err:
        raise DatasetError(f'annotation {ann.get("id")} (image {ann.get("image_id")}) has an '
                           f'unreadable segmentation ({err!r}); fix or drop it.') from err
    if mask.shape != (height, width):
        raise DatasetError(
            f'annotation {ann.get("id")} (image {ann.get("image_id")}): its RLE is '
            f'{mask.shape[1]}x{mask.shape[0]} but the image is {width}x{height} (WxH); the '
            'annotation file is inconsistent.')
    return mask


def render_semantic_mask(anns, height, width, cat_id_to_label, crowd='ignore'):
    """The semantic label map of one image (rules in the module docstring)."""
    if crowd not in CROWD_MODES:
        raise ValueError(f'crowd must be one of {CROWD_MODES}, got {crowd!r}')
    label = np.zeros((height, width), np.uint8)
    instances, crowds = [], []
    for ann in anns:
        mask = annotation_mask(ann, height, width).astype(bool)
        (crowds if ann.get('iscrowd', 0) else instances).append((ann, mask))
    instances.sort(key=lambda item: (-int(item[1].sum()), item[0]['id']))
    covered = np.zeros((height, width), bool)
    for ann, mask in instances:
        label[mask] = cat_id_to_label[ann['category_id']]
        covered |= mask
    if crowd == 'ignore':
        for _, mask in crowds:
            label[mask & ~covered] = IGNORE_INDEX
    return label
