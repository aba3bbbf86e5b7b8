"""DeepLabV2's ASPP head has the published structure; the demo backbone's stride."""
import pytest
import torch
from torch import nn

import stage2_seg  # noqa: F401  (registers the plugin)
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

init_default_scope('mmseg')


def build_head(**kwargs):
    cfg = dict(type='ASPPV2Head', in_channels=16, num_classes=5)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_four_dilated_3x3_branches_to_class_scores():
    head = build_head()
    assert len(head.aspp) == 4
    assert [conv.dilation for conv in head.aspp] == [(6, 6), (12, 12), (18, 18), (24, 24)]
    for conv, rate in zip(head.aspp, (6, 12, 18, 24)):
        assert isinstance(conv, nn.Conv2d)
        assert conv.kernel_size == (3, 3)
        assert conv.padding == (rate, rate)          # keeps the resolution
        assert conv.stride == (1, 1)
        assert (conv.in_channels, conv.out_channels) == (16, 5)
        assert conv.bias is not None
    # no BatchNorm, activation, pooling branch, 1x1 fusion or separate classifier
    layers = [m for name, m in head.named_modules() if not name.startswith('loss')]
    assert {type(m) for m in layers} == {type(head), nn.ModuleList, nn.Conv2d}
    assert not hasattr(head, 'conv_seg')
    assert sum(p.numel() for p in head.parameters()) == 4 * (16 * 5 * 9 + 5)


def test_branch_outputs_are_summed():
    torch.manual_seed(0)
    head = build_head().eval()
    head.init_weights()
    x = torch.randn(2, 16, 13, 11)
    out = head([x])
    assert out.shape == (2, 5, 13, 11)
    assert torch.allclose(out, sum(conv(x) for conv in head.aspp), atol=1e-6)
    # zero every branch but one: the output is that branch alone
    for keep in range(4):
        single = build_head().eval()
        single.load_state_dict(head.state_dict())
        with torch.no_grad():
            for index, conv in enumerate(single.aspp):
                if index != keep:
                    conv.weight.zero_()
                    conv.bias.zero_()
        assert torch.allclose(single([x]), head.aspp[keep](x), atol=1e-6)


def test_initialised_as_the_reference():
    head = build_head(in_channels=256, num_classes=21)
    head.init_weights()
    weights = torch.cat([conv.weight.flatten() for conv in head.aspp])
    assert abs(weights.std().item() - 0.01) < 0.001
    assert all(torch.count_nonzero(conv.bias) == 0 for conv in head.aspp)


def test_custom_dilations_and_empty_refused():
    assert [c.dilation[0] for c in build_head(dilations=(1, 2)).aspp] == [1, 2]
    with pytest.raises(ValueError):
        build_head(dilations=())


@pytest.mark.parametrize('output_stride', [8, 16])
def test_mobilenet_v2_output_stride(output_stride):
    backbone = MODELS.build(dict(type='TorchvisionMobileNetV2', output_stride=output_stride,
                                 out_indices=(6, 17, 18)))
    outs = backbone(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [32, 320, 1280] == backbone.out_channels
    assert outs[0].shape[-1] == 64 // 8
    assert outs[-1].shape[-1] == 64 // output_stride


def test_mobilenet_v2_blocks_after_the_output_are_frozen():
    backbone = MODELS.build(dict(type='TorchvisionMobileNetV2', out_indices=(17,)))
    assert not any(p.requires_grad for p in backbone.features[18].parameters())
    assert all(p.requires_grad for p in backbone.features[17].parameters())
