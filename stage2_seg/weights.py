"""``TorchvisionPretrained``: ImageNet initialisation from a torchvision file.

The WSSS DeepLab recipes start from ImageNet weights, and the only format a
user can count on here is torchvision's (``resnet101-63fe2227.pth``,
``mobilenet_v2-b0353104.pth``; open-mmlab's ``open-mmlab://resnet101_v1c``
needs a download). mmseg's ``ResNet`` (``depth=101``, not V1c: the 7x7 stem)
names its weights exactly as torchvision does (``conv1``, ``bn1``,
``layer1``..``layer4``; only the ImageNet ``fc`` is extra), and
``TorchvisionMobileNetV2`` keeps torchvision's ``features`` names, so no key
conversion is needed; this initialiser adds what mmengine's ``Pretrained``
lacks:

* a missing file is an error naming it and the config key to fix;
* every backbone weight must be in the file with the right shape (mmengine
  loads with ``strict=False`` and only logs mismatches, so a wrong file
  would train from random features);
* ``checkpoint=None`` finds the file in torch's hub cache, and MobileNetV2 in
  the offline weights package (``wsss_core.torchvision_weights``).

Use as ``init_cfg=dict(type='TorchvisionPretrained', arch='resnet101',
checkpoint='checkpoints/resnet101-63fe2227.pth')``. The file is read when the
runner initialises weights (start of training), not when the model is built,
so configs build and test without it.
"""
from mmengine.logging import print_log
from mmseg.registry import WEIGHT_INITIALIZERS

from wsss_core.torchvision_weights import (CHECKPOINT_PATTERNS, WeightsError,
                                           load_torchvision_weights)


@WEIGHT_INITIALIZERS.register_module()
class TorchvisionPretrained:
    """Load a torchvision ImageNet checkpoint into a module with its key names.

    Args:
        arch: torchvision architecture of the file (``resnet50``, ``resnet101``,
            ``mobilenet_v2``): names the ImageNet head left out and the hub
            file pattern searched when ``checkpoint`` is None.
        checkpoint: path to the ``.pth`` file, or None to search for it.
    """

    def __init__(self, arch, checkpoint=None):
        if arch not in CHECKPOINT_PATTERNS:
            raise ValueError(f'TorchvisionPretrained: unknown arch {arch!r}; choose one of '
                             f'{sorted(CHECKPOINT_PATTERNS)}')
        self.arch = arch
        self.checkpoint = checkpoint
        self.wholemodule = False  # set by mmengine's initialize(); unused

    def __call__(self, module):
        try:
            path = load_torchvision_weights(module, self.arch,
                                            True if self.checkpoint is None else self.checkpoint)
        except WeightsError as err:
            raise WeightsError(f'{err} (model.backbone.init_cfg.checkpoint in the config; '
                               'see configs/stage2/README.md for the file)') from None
        print_log(f'{type(module).__name__}: ImageNet weights from {path}', logger='current')

    def _get_init_info(self):
        return f'{type(self).__name__}: arch={self.arch}, checkpoint={self.checkpoint}'
