"""Backbones split at the BAS tap point.

Every backbone is a torchvision network cut in two:

* ``tap``: image -> intermediate features (the generator's input, the
  features the background branch erases);
* ``later``: tap features -> final features (the stage the background branch
  re-runs with frozen weights).

Layouts:

* ResNet-50/101 (BAS-Extension WSSS): layer3 is the tap, layer4 has stride 1
  (no dilation, as in IRN), so tap and output share output stride 16.
* MobileNetV2 (offline default): tap after block 13 (96 channels); stride-2
  blocks after the wanted output stride become stride 1, so tap and output
  share ``output_stride`` (8 by default: the demo images are small). As
  IRN/BAS do for ResNet's layer4, no dilation by default: on 128-pixel
  images dilated 3x3 kernels gave gridded CAMs spread over the background
  and lower demo seed mIoU than undilated ones; ``dilated=True``
  restores DeepLab-style dilation.
* VGG16: tap is relu4_3 (stride 8); pool4/pool5 are removed and conv5 is
  dilated by 2, so tap and output share stride 8.

Weights are torchvision-format ImageNet checkpoints, loaded by
``load_torchvision_weights``.
"""
import torchvision
from torch import nn

from wsss_core.torchvision_weights import limit_mobilenet_stride, load_torchvision_weights

class SplitBackbone(nn.Module):
    """A backbone cut into ``tap`` and ``later``; see the module docstring.

    ``norm_eval``: every BatchNorm layer stays in eval mode in training (its
    ImageNet statistics are used and never updated; its affine weights still
    train), as IRN's ``FixedBatchNorm``. ``frozen_tap_modules``: the first N
    modules of ``tap`` get no gradient and stay in eval mode (the ResNet stem
    and early stages, ``resnet(frozen_stages=...)``).
    """

    def __init__(self, tap, later, tap_channels, out_channels, output_stride, norm_eval=False,
                 frozen_tap_modules=0):
        super().__init__()
        self.tap = tap
        self.later = later
        self.tap_channels = tap_channels
        self.out_channels = out_channels
        self.output_stride = output_stride
        self.norm_eval = norm_eval
        self.frozen_tap_modules = frozen_tap_modules
        for param in self.tap[:frozen_tap_modules].parameters():
            param.requires_grad_(False)

    def forward(self, images):
        return self.later(self.tap(images))

    def train(self, mode=True):
        super().train(mode)
        if mode and self.norm_eval:  # keep ImageNet BN statistics (small batches)
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        if mode:
            # Indexed each time: mmengine's SyncBN conversion replaces the BN modules.
            for index in range(self.frozen_tap_modules):
                self.tap[index].eval()
        return self


# ResNet ``frozen_stages`` -> how many leading modules of its tap
# (conv1, bn1, relu, maxpool, layer1, layer2, layer3) are frozen.
RESNET_FROZEN_TAP_MODULES = {-1: 0, 0: 2, 1: 5, 2: 6, 3: 7}


def resnet(depth=50, pretrained=True, norm_eval=False, frozen_stages=-1):
    """ResNet-50/101, BAS-Extension WSSS layout: tap = layer3, layer4 stride 1.

    ``frozen_stages`` (mmseg's meaning): -1 none, 0 the stem (conv1 + bn1),
    1 also layer1, 2 also layer2, 3 also layer3. IRN's CAM network
    (``net/resnet50_cam.py``) is ``norm_eval=True, frozen_stages=2``: FixedBatchNorm
    everywhere, conv1/bn1 without gradient, and a ``.detach()`` after layer2,
    so that only layer3, layer4 and the classifier train.
    """
    if frozen_stages not in RESNET_FROZEN_TAP_MODULES:
        raise ValueError(f'resnet frozen_stages must be one of '
                         f'{sorted(RESNET_FROZEN_TAP_MODULES)}, got {frozen_stages!r}')
    arch = f'resnet{depth}'
    network = getattr(torchvision.models, arch)(weights=None)
    load_torchvision_weights(network, arch, pretrained)
    # layer4's first block downsamples; make it stride 1 (IRN/BAS: no dilation).
    network.layer4[0].conv2.stride = (1, 1)
    network.layer4[0].downsample[0].stride = (1, 1)
    tap = nn.Sequential(network.conv1, network.bn1, network.relu, network.maxpool,
                        network.layer1, network.layer2, network.layer3)
    return SplitBackbone(tap, network.layer4, tap_channels=1024, out_channels=2048,
                         output_stride=16, norm_eval=norm_eval,
                         frozen_tap_modules=RESNET_FROZEN_TAP_MODULES[frozen_stages])


MOBILENET_TAP_BLOCK = 14  # features[:14] end with block 13 (96 channels)


MOBILENET_TAP_POINTS = ('block_output', 'expansion')


def mobilenet_v2(pretrained=True, output_stride=8, tap_stride=None, tap_block=MOBILENET_TAP_BLOCK,
                 tap_point='block_output', dilated=False, norm_eval=False):
    """MobileNetV2 (torchvision) cut before ``features[tap_block]``; see the module docstring.

    ``tap_stride`` (default ``output_stride``): stride of the tap features; a
    larger ``output_stride`` lets the later stage downsample once more, as the
    reference's WSOL backbones do (stride-8 tap, stride-16 F).
    ``tap_point``: 'block_output' taps the linear bottleneck that ends block
    ``tap_block - 1`` (signed features); 'expansion' taps one layer later,
    after the 1x1 expansion + ReLU6 of block ``tap_block`` (non-negative, as
    the reference's ResNet layer3 and MobileNetV1 taps are, so that erasing
    a feature to 0 means "nothing there"). That block must not be residual.
    """
    if tap_point not in MOBILENET_TAP_POINTS:
        raise ValueError(f'mobilenet_v2 tap_point must be one of {MOBILENET_TAP_POINTS}, '
                         f'got {tap_point!r}')
    tap_stride = output_stride if tap_stride is None else tap_stride
    if output_stride not in (8, 16) or tap_stride not in (8, 16) or tap_stride > output_stride:
        raise ValueError('mobilenet_v2 needs output_stride and tap_stride in (8, 16) with '
                         f'tap_stride <= output_stride; got {output_stride} and {tap_stride}')
    if not 8 <= tap_block <= 18:
        raise ValueError(f'mobilenet_v2 tap_block must be 8..18 (features[:tap_block] is the '
                         f'tap), got {tap_block}')
    network = torchvision.models.mobilenet_v2(weights=None)
    load_torchvision_weights(network, 'mobilenet_v2', pretrained)
    features = network.features
    limit_mobilenet_stride(
        features, lambda index: tap_stride if index < tap_block else output_stride, dilated)
    if tap_point == 'expansion':
        block = features[tap_block]
        if block.use_res_connect or len(block.conv) != 4:
            raise ValueError(f'mobilenet_v2 tap_point=\'expansion\' needs features[{tap_block}] '
                             'to be a non-residual block with an expansion layer; choose a '
                             'tap_block that changes channels (7, 11, 14 or 17)')
        expansion = block.conv[0]
        tap = nn.Sequential(*features[:tap_block], expansion)
        later = nn.Sequential(nn.Sequential(*block.conv[1:]), *features[tap_block + 1:])
        tap_channels = expansion.out_channels
    else:
        tap, later = features[:tap_block], features[tap_block:]
        tap_channels = features[tap_block - 1].out_channels
    return SplitBackbone(tap, later, tap_channels=tap_channels, out_channels=1280,
                         output_stride=output_stride, norm_eval=norm_eval)


VGG_TAP_END = 23  # features[:23] end with relu4_3; index 23 is pool4


def vgg16(pretrained=True, norm_eval=False):
    """VGG16 (torchvision, no BN): tap = relu4_3; pool4/pool5 removed, conv5 dilated."""
    network = torchvision.models.vgg16(weights=None)
    load_torchvision_weights(network, 'vgg16', pretrained)
    features = network.features
    later = nn.Sequential(*features[VGG_TAP_END + 1:-1])  # conv5_1 .. relu5_3
    for module in later:
        if isinstance(module, nn.Conv2d):
            module.dilation = (2, 2)
            module.padding = (2, 2)
    return SplitBackbone(features[:VGG_TAP_END], later, tap_channels=512, out_channels=512,
                         output_stride=8, norm_eval=norm_eval)


BACKBONES = {
    'resnet50': lambda **kw: resnet(50, **kw),
    'resnet101': lambda **kw: resnet(101, **kw),
    'mobilenet_v2': mobilenet_v2,
    'vgg16': vgg16,
}


def build_backbone(cfg):
    """``cfg``: dict(type='resnet50' | 'resnet101' | 'mobilenet_v2' | 'vgg16', **kwargs)."""
    cfg = dict(cfg)
    arch = cfg.pop('type')
    if arch not in BACKBONES:
        raise KeyError(f'unknown backbone {arch!r}; choose one of {sorted(BACKBONES)}')
    return BACKBONES[arch](**cfg)
