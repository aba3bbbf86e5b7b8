"""DeepLabV2's ASPP head (Chen et al., TPAMI 2017, "ASPP-L"), which mmseg lacks.

Four parallel 3x3 convolutions on the backbone's output-stride-8 features,
dilated 6, 12, 18 and 24, each mapping straight to class scores; the four
score maps are **summed**. There is no BatchNorm, no ReLU, no image pooling
branch, no concatenation and no 1x1 fusion: those came with DeepLabV3's
ASPP (mmseg's ``ASPPHead``). Each branch is initialised N(0, 0.01), bias 0, as
in the reference implementations (DeepLab caffe, deeplab-pytorch), which
WSSS papers use for their reported stage-2 numbers.
"""
from torch import nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class ASPPV2Head(BaseDecodeHead):
    """ASPP-v2: ``sum_r conv3x3_dilation_r(x)`` for r in ``dilations``.

    Args:
        in_channels: channels of the backbone feature map (2048 for ResNet-101).
        dilations: one branch per rate (DeepLabV2: 6, 12, 18, 24).
        num_classes: output channels of every branch.
        dropout_ratio: dropout on the input features (0: the original has none).
        Other arguments as mmseg's ``BaseDecodeHead``; ``channels`` is unused
        (the branches output class scores directly) and defaults to
        ``in_channels``.
    """

    def __init__(self, in_channels, dilations=(6, 12, 18, 24), channels=None, dropout_ratio=0.0,
                 init_cfg=dict(type='Normal', std=0.01, bias=0, layer='Conv2d'), **kwargs):
        super().__init__(in_channels=in_channels,
                         channels=in_channels if channels is None else channels,
                         dropout_ratio=dropout_ratio, init_cfg=init_cfg, **kwargs)
        if not dilations:
            raise ValueError('ASPPV2Head needs at least one dilation')
        self.dilations = tuple(int(d) for d in dilations)
        # BaseDecodeHead always builds a 1x1 classifier; ASPP-v2 has none, and an
        # unused parameter would break DDP and clutter the optimiser.
        del self.conv_seg
        self.aspp = nn.ModuleList(
            nn.Conv2d(self.in_channels, self.out_channels, kernel_size=3, padding=d, dilation=d,
                      bias=True)
            for d in self.dilations)

    def forward(self, inputs):
        x = self._transform_inputs(inputs)
        if self.dropout is not None:
            x = self.dropout(x)
        out = self.aspp[0](x)
        for branch in self.aspp[1:]:
            out = out + branch(x)
        return out

    def cls_seg(self, feat):  # pragma: no cover - the branches are the classifier
        raise NotImplementedError('ASPPV2Head has no separate classifier (conv_seg)')

