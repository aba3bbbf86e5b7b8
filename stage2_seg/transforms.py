"""``RandomRescale``: scale an image (and its labels) by a random factor.

The WSSS DeepLab recipes (deeplab-pytorch, used by IRN/AdvCAM/AMN/CLIP-ES)
augment by rescaling the *original* image by a factor drawn from a range
(0.5-2.0 here) and then cropping 321x321. mmcv's ``RandomResize`` instead
scales relative to a fixed target ``scale``, which changes the object sizes
the network sees for every image whose size differs from that target; this
transform keeps the recipe's meaning for any image size.
"""
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomRescale(BaseTransform):
    """Resize by ``ratio ~ U(ratio_range)``: bilinear image, nearest labels.

    Required keys: img. Modified keys: img, img_shape, gt_seg_map and every
    other key in seg_fields. Added keys: scale_factor, keep_ratio.
    """

    def __init__(self, ratio_range=(0.5, 2.0), interpolation='bilinear'):
        low, high = (float(v) for v in ratio_range)
        if not 0 < low <= high:
            raise ValueError(f'ratio_range must be 0 < low <= high, got {ratio_range}')
        self.ratio_range = (low, high)
        self.interpolation = interpolation

    def transform(self, results):
        ratio = np.random.uniform(*self.ratio_range)
        height, width = results['img'].shape[:2]
        size = (max(1, int(width * ratio + 0.5)), max(1, int(height * ratio + 0.5)))  # (w, h)
        results['img'] = mmcv.imresize(results['img'], size, interpolation=self.interpolation)
        results['img_shape'] = results['img'].shape[:2]
        results['scale_factor'] = (size[0] / width, size[1] / height)
        results['keep_ratio'] = True
        seg_keys = set(results.get('seg_fields', []))
        if results.get('gt_seg_map') is not None:
            seg_keys.add('gt_seg_map')
        for key in seg_keys:
            results[key] = mmcv.imresize(results[key], size, interpolation='nearest')
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(ratio_range={self.ratio_range}, '
                f'interpolation={self.interpolation!r})')
