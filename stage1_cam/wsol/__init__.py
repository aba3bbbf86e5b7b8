"""Weakly supervised object localization (boxes from image labels) on CUB and ImageNet."""
from .cub import CUBSource  # noqa: F401  (registers type='CUB')
from .imagenet import ImageNetSource  # noqa: F401  (registers type='ImageNet')
