from .backbones import build_backbone, load_torchvision_weights  # noqa: F401
from .bas import BASClassifier  # noqa: F401
from .cam import CAMClassifier  # noqa: F401
from .icl import BASICLClassifier, ICLClassifier  # noqa: F401
