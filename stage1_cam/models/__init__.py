"""The stage-1 methods, registered in ``stage1_cam.registry.MODELS``.

Each method is one model file whose class declares what it produces
(``map_kinds``, ``default_map_kind``, ``title``, ``default_refine``; see
``CAMClassifier``); the steps read those declarations from the class
(``stage1_cam.config_check.method_class`` finds it for a config).
"""
from mmengine.registry import DefaultScope

from ..registry import MODELS
from .backbones import build_backbone  # noqa: F401
from .bas import BASClassifier  # noqa: F401
from .cam import CAMClassifier  # noqa: F401
from .icl import BASICLClassifier, ICLClassifier  # noqa: F401


def build_model(cfg):
    """Build a stage-1 model from its config dict, whatever mmengine's current
    default scope is (another library, e.g. mmseg, may have set its own)."""
    with DefaultScope.overwrite_default_scope('stage1_cam'):
        return MODELS.build(cfg)
