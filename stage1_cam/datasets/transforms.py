"""Training transforms of stage 1, on HxWx3 uint8 RGB arrays.

Normalisation is not here: the model's ``ImgDataPreprocessor`` does it on
the (possibly GPU) batch. Padding therefore uses the ImageNet mean colour,
which becomes 0 after normalisation, as the reference pads with 0 after it.
"""
import numpy as np
import torch
from mmengine.registry import DefaultScope
from PIL import Image

from ..registry import TRANSFORMS

IMAGENET_MEAN_RGB = (123.675, 116.28, 103.53)
IMAGENET_STD_RGB = (58.395, 57.12, 57.375)
_RESAMPLE = {'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC, 'nearest': Image.NEAREST}


def resize_image(image, size_hw, interpolation='bicubic'):
    height, width = size_hw
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), _RESAMPLE[interpolation]))


@TRANSFORMS.register_module()
class Resize:
    """Resize to a fixed (height, width), ignoring aspect (BAS-Extension: 512x512)."""

    def __init__(self, size, interpolation='bicubic'):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.interpolation = interpolation

    def __call__(self, image, rng):
        return resize_image(image, self.size, self.interpolation)


@TRANSFORMS.register_module()
class RandomResizeLong:
    """Resize so the long side is uniform in [low, high] (IRN: 320..640)."""

    def __init__(self, low, high, interpolation='bicubic'):
        self.low, self.high = low, high
        self.interpolation = interpolation

    def __call__(self, image, rng):
        target = rng.integers(self.low, self.high + 1)
        height, width = image.shape[:2]
        scale = target / max(height, width)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        return resize_image(image, size, self.interpolation)


@TRANSFORMS.register_module()
class RandomScale:
    """Rescale by a factor uniform in [low, high]."""

    def __init__(self, low, high, interpolation='bicubic'):
        self.low, self.high = low, high
        self.interpolation = interpolation

    def __call__(self, image, rng):
        scale = rng.uniform(self.low, self.high)
        height, width = image.shape[:2]
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        return resize_image(image, size, self.interpolation)


@TRANSFORMS.register_module()
class RandomHorizontalFlip:
    def __init__(self, prob=0.5):
        self.prob = prob

    def __call__(self, image, rng):
        return image[:, ::-1] if rng.random() < self.prob else image


@TRANSFORMS.register_module()
class RandomCrop:
    """Random ``size`` crop; smaller images are padded (mean colour) at a random offset."""

    def __init__(self, size, pad_value=IMAGENET_MEAN_RGB):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.pad_value = np.asarray(pad_value, dtype=np.float64).round().astype(np.uint8)

    def __call__(self, image, rng):
        crop_h, crop_w = self.size
        height, width = image.shape[:2]
        canvas = np.empty((max(crop_h, height), max(crop_w, width), 3), np.uint8)
        canvas[...] = self.pad_value
        top = rng.integers(0, canvas.shape[0] - height + 1)
        left = rng.integers(0, canvas.shape[1] - width + 1)
        canvas[top:top + height, left:left + width] = image
        y = rng.integers(0, canvas.shape[0] - crop_h + 1)
        x = rng.integers(0, canvas.shape[1] - crop_w + 1)
        return canvas[y:y + crop_h, x:x + crop_w]


def build_pipeline(pipeline_cfg):
    # Our transforms whatever scope is the process default (mmseg's has
    # transforms of the same names, e.g. RandomCrop).
    with DefaultScope.overwrite_default_scope('stage1_cam'):
        return [TRANSFORMS.build(dict(cfg)) for cfg in pipeline_cfg or []]


def to_chw_tensor(image):
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
