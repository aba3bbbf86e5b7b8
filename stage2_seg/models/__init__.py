"""Stage-2 models (registered in mmseg's MODELS)."""
from .aspp_v2_head import ASPPV2Head  # noqa: F401
from .mobilenet_v2 import TorchvisionMobileNetV2  # noqa: F401
from .tta import WSSSTTAModel  # noqa: F401

__all__ = ['ASPPV2Head', 'TorchvisionMobileNetV2', 'WSSSTTAModel']
