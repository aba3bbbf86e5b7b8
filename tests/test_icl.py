"""ICL: drop masks, losses and the ICL / BAS+ICL classifiers on hand-made tensors."""
import math
from pathlib import Path

import pytest
import torch

from stage1_cam import icl_losses
from stage1_cam.models import BASICLClassifier, ICLClassifier
from stage1_cam.models.icl import AttentionDrop, NonLocalAttention

NUM_CLASSES = 4
CONFIGS = Path(__file__).resolve().parents[1] / 'configs' / 'stage1'


def attention_map(rows):
    return torch.tensor(rows, dtype=torch.float32).view(1, 1, len(rows), len(rows[0]))


# ---------------------------------------------------------------- masks / drop

def test_region_masks_thresholds_relative_to_max():
    # max 2.0: gamma*max = 1.8 (dropped at and above), beta*max = 0.2 (background below)
    masks = icl_losses.region_masks(attention_map([[0.0, 0.1, 0.2], [1.0, 1.8, 2.0]]),
                                    gamma=0.9, beta=0.1)
    as_list = {k: v.int().flatten().tolist() for k, v in masks.items()}
    assert as_list['discriminative'] == [0, 0, 0, 0, 1, 1]
    assert as_list['background'] == [1, 1, 0, 0, 0, 0]
    assert as_list['kept'] == [0, 0, 1, 1, 0, 0]
    assert as_list['foreground'] == [0, 0, 1, 1, 1, 1]


def test_region_masks_reject_bad_thresholds():
    with pytest.raises(ValueError):
        icl_losses.region_masks(attention_map([[0.0, 1.0]]), gamma=0.1, beta=0.5)


def test_drop_layer_drops_exactly_discriminative_and_background_pixels():
    drop = AttentionDrop(drop_rate=1.0, gamma=0.8, beta=0.25).train()
    attention = attention_map([[0.0, 0.2, 0.25, 0.5], [0.79, 0.8, 0.9, 1.0]])
    features = torch.ones(1, 3, 2, 4)
    out = drop(features, attention)
    expected = torch.tensor([[0, 0, 1, 1], [1, 0, 0, 0]], dtype=torch.float32)
    for channel in range(3):
        torch.testing.assert_close(out[0, channel], expected)


def test_drop_layer_per_image_masks_and_flat_maps():
    drop = AttentionDrop(drop_rate=1.0, gamma=0.9, beta=0.1, per_sample=True).train()
    attention = torch.cat([attention_map([[0.0, 0.5, 1.0]]), attention_map([[0.3, 0.3, 0.3]])])
    out = drop(torch.ones(2, 1, 1, 3), attention)
    assert out[0].flatten().tolist() == [0.0, 1.0, 0.0]
    assert out[1].flatten().tolist() == [1.0, 1.0, 1.0]  # flat map: nothing to localise


def test_drop_layer_is_identity_in_eval_and_when_disabled():
    drop = AttentionDrop(drop_rate=1.0)
    features = torch.randn(2, 5, 3, 3)
    attention = torch.rand(2, 1, 3, 3)
    assert torch.equal(drop.eval()(features, attention), features)
    assert torch.equal(drop.train()(features, attention, enabled=False), features)


def test_drop_layer_importance_branch():
    features = torch.randn(2, 5, 3, 3)
    attention = torch.rand(2, 1, 3, 3)
    sigmoid = AttentionDrop(drop_rate=0.0, importance='sigmoid').train()
    none = AttentionDrop(drop_rate=0.0, importance='none').train()
    # drop_rate 0: never the hard mask
    assert torch.equal(none(features, attention), features)
    assert torch.equal(sigmoid(features, attention), features)  # short-cut at rate 0
    sigmoid.drop_rate = 1e-9  # practically always the importance branch
    torch.testing.assert_close(sigmoid(features, attention), features * torch.sigmoid(attention))


def test_drop_rate_is_a_per_batch_probability():
    drop = AttentionDrop(drop_rate=0.75).train()
    attention = attention_map([[0.0, 0.5, 1.0]])
    features = torch.ones(1, 1, 1, 3)
    torch.manual_seed(0)
    dropped = sum(float(drop(features, attention)[0, 0, 0, 0]) == 0.0 for _ in range(2000))
    assert abs(dropped / 2000 - 0.75) < 0.04


def test_hard_drop_passes_gradient_to_kept_features_only():
    drop = AttentionDrop(drop_rate=1.0, gamma=0.9, beta=0.1).train()
    attention = attention_map([[0.0, 0.5, 1.0]]).requires_grad_()
    features = torch.ones(1, 2, 1, 3, requires_grad=True)
    drop(features, attention).sum().backward()
    assert features.grad[0, :, 0].tolist() == [[0.0, 1.0, 0.0]] * 2
    assert attention.grad is None or float(attention.grad.abs().sum()) == 0.0


# ---------------------------------------------------------------- attention

def test_normalize_attention_min_max_and_flat():
    maps = torch.cat([attention_map([[2.0, 4.0, 3.0]]), attention_map([[5.0, 5.0, 5.0]])])
    out = icl_losses.normalize_attention(maps)
    assert out[0].flatten().tolist() == [0.0, 1.0, 0.5]
    assert out[1].flatten().tolist() == [0.0, 0.0, 0.0]


def test_non_local_block_starts_as_identity_and_learns():
    torch.manual_seed(0)
    block = NonLocalAttention(8).train()
    x = torch.randn(2, 8, 5, 6)
    z, attention = block(x)
    torch.testing.assert_close(z, x)
    torch.testing.assert_close(attention, icl_losses.normalize_attention(x.mean(1, keepdim=True)))
    assert attention.shape == (2, 1, 5, 6)
    attention = attention.detach()
    assert float(attention.min()) >= 0.0 and float(attention.max()) <= 1.0
    z.pow(2).sum().backward()
    assert float(block.out[1].weight.grad.abs().sum()) > 0  # the zero-init BN learns
    block_1x1 = NonLocalAttention(8)  # maps smaller than 2x2 skip the sub-sampling
    assert block_1x1(torch.randn(2, 8, 1, 3))[0].shape == (2, 8, 1, 3)


# ---------------------------------------------------------------- losses

def features_from_pixels(pixels):
    """(1, C, 1, P) features from a list of P C-vectors."""
    return torch.tensor(pixels, dtype=torch.float32).t().reshape(1, -1, 1, len(pixels))


# attention [1.0, 0.5, 0.0]: pixel 0 discriminative, pixel 1 kept, pixel 2 background
ATTENTION = attention_map([[1.0, 0.5, 0.0]])


def test_contrastive_loss_zero_when_dropped_matches_foreground_orthogonal_to_background():
    features = features_from_pixels([[1.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    for margin in (0.5, 1.0):
        loss = icl_losses.contrastive_attention_loss(features, ATTENTION, margin=margin)
        assert float(loss) == pytest.approx(0.0, abs=1e-6)


def test_contrastive_loss_is_margin_when_dropped_equals_background():
    features = features_from_pixels([[1.0, 2.0], [1.0, 2.0], [2.0, 4.0]])
    loss = icl_losses.contrastive_attention_loss(features, ATTENTION, margin=0.5)
    assert float(loss) == pytest.approx(0.5, abs=1e-6)


def test_contrastive_loss_value_by_hand():
    # f = mean(px0, px1) = (1, 1); d = px1 = (0, 2); b = px2 = (0, 1)
    features = features_from_pixels([[2.0, 0.0], [0.0, 2.0], [0.0, 1.0]])
    loss = icl_losses.contrastive_attention_loss(features, ATTENTION, margin=0.5)
    expected = 0.5 + (1 - 1 / math.sqrt(2)) - (1 - 1.0)
    assert float(loss) == pytest.approx(expected, abs=1e-6)


def test_contrastive_loss_gradient_reaches_features_not_attention():
    features = features_from_pixels([[2.0, 0.0], [0.0, 2.0], [0.0, 1.0]]).requires_grad_()
    attention = ATTENTION.clone().requires_grad_()
    icl_losses.contrastive_attention_loss(features, attention).backward()
    assert float(features.grad.abs().sum()) > 0
    assert attention.grad is None


def test_contrastive_loss_skips_images_without_all_regions():
    features = features_from_pixels([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    flat = attention_map([[0.0, 0.0, 0.0]])  # no background, no kept region
    features = features.requires_grad_()
    loss = icl_losses.contrastive_attention_loss(features, flat)
    assert float(loss) == 0.0
    loss.backward()  # still part of the graph
    two = torch.cat([features.detach(), features_from_pixels([[2.0, 0.0], [0.0, 2.0], [0.0, 1.0]])])
    both = icl_losses.contrastive_attention_loss(two, torch.cat([flat, ATTENTION]))
    assert float(both) == pytest.approx(0.5 + 1 - 1 / math.sqrt(2), abs=1e-6)  # mean over valid


def test_consistency_loss_value_and_gradient_to_early_only():
    early = torch.zeros(1, 1, 4, 4, requires_grad=True)
    last = torch.ones(1, 1, 4, 4, requires_grad=True)
    loss = icl_losses.foreground_consistency_loss(early, last)
    assert float(loss) == pytest.approx(1.0)
    loss.backward()
    assert float(early.grad.abs().sum()) > 0
    assert last.grad is None


def test_consistency_loss_resizes_and_renormalises_the_reference():
    early = torch.zeros(1, 1, 4, 4)
    last = attention_map([[0.0, 1.0], [0.0, 1.0]])  # right half on
    loss = icl_losses.foreground_consistency_loss(early, last)
    reference = icl_losses.normalize_attention(torch.nn.functional.interpolate(
        last, size=(4, 4), mode='bilinear', align_corners=False))
    assert float(loss) == pytest.approx(float(reference.mean()))
    assert float(reference.max()) == 1.0


# ---------------------------------------------------------------- models

def small(cls, arch='mobilenet_v2', **kw):
    torch.manual_seed(0)
    return cls(backbone=dict(type=arch, pretrained=False), num_classes=NUM_CLASSES, **kw)


def batch(size=64):
    torch.manual_seed(1)
    images = torch.randn(2, 3, size, size)
    labels = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    return images, labels


def has_grad(model, prefix):
    return any(p.grad is not None and float(p.grad.abs().sum()) > 0
               for n, p in model.named_parameters() if n.startswith(prefix))


ICL_KEYS = {'loss_cls', 'loss_ca', 'loss_fc'}
BAS_ICL_KEYS = {'loss_mcls', 'loss_frg', 'loss_bas', 'loss_area', 'loss_ca', 'loss_fc'}


@pytest.mark.parametrize('cls, keys', [(ICLClassifier, ICL_KEYS), (BASICLClassifier, BAS_ICL_KEYS)])
@pytest.mark.parametrize('arch', ['mobilenet_v2', 'resnet50', 'vgg16'])
def test_losses_finite_and_backward(cls, keys, arch):
    model = small(cls, arch).train()
    images, labels = batch()
    losses = model.loss(images, labels)
    assert set(losses) == keys
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert has_grad(model, 'icl_attention_tap.') and has_grad(model, 'classifier.')
    model.eval()
    maps = model.activation_maps(images)
    expected = {'cam', 'logits'} | ({'bas'} if cls is BASICLClassifier else set())
    assert set(maps) == expected
    assert float(maps['cam'].min()) >= 0
    assert maps['logits'].shape == (2, NUM_CLASSES)
    assert model(images, mode='predict').shape == (2, NUM_CLASSES)


def grads_after(model, loss_name):
    images, labels = batch()
    model.train().zero_grad(set_to_none=True)
    torch.manual_seed(2)
    model.loss(images, labels)[loss_name].backward()
    return model


def test_consistency_loss_trains_early_layers_only():
    model = grads_after(small(ICLClassifier), 'loss_fc')
    assert has_grad(model, 'icl_attention_tap.') and has_grad(model, 'backbone.tap.')
    for prefix in ('backbone.later.', 'icl_attention_last.', 'classifier.'):
        assert not has_grad(model, prefix), prefix


def test_contrastive_loss_reaches_both_attention_blocks():
    model = small(ICLClassifier)
    with torch.no_grad():  # leave the identity start so W gets gradients everywhere
        for block in (model.icl_attention_tap, model.icl_attention_last):
            block.out[1].weight.fill_(0.1)
    grads_after(model, 'loss_ca')
    assert has_grad(model, 'icl_attention_tap.') and has_grad(model, 'icl_attention_last.')
    assert has_grad(model, 'backbone.later.') and not has_grad(model, 'classifier.')


def test_activation_maps_never_drop():
    model = small(ICLClassifier, drop=dict(drop_rate=1.0)).train()
    images, _ = batch()
    first = model.activation_maps(images)['cam']
    model.eval()
    torch.testing.assert_close(model.activation_maps(images)['cam'],
                               model.icl_forward(images, drop=False)['class_maps'].relu())
    # train-mode BN statistics differ; the point is that the drop is off in both
    assert first.shape == (2, NUM_CLASSES, 8, 8)


def test_training_forward_drops_and_eval_forward_does_not():
    model = small(ICLClassifier, drop=dict(drop_rate=1.0))
    images, _ = batch()
    model.eval()
    plain = model.icl_forward(images, drop=False)['class_maps']
    assert torch.equal(model.icl_forward(images)['class_maps'], plain)  # eval: drop is identity
    seen = {}
    model.icl_drop_last.register_forward_hook(
        lambda m, i, o: seen.update(features=i[0], attention=i[1], out=o))
    model.icl_drop_last.train()  # only the last drop layer in training mode
    model.icl_forward(images)
    attention = seen['attention']
    assert float(attention.flatten(1).amax(1).min()) == 1.0  # not flat: the drop applies
    kept = model.icl_drop_last.keep_mask(attention)
    assert (kept == 0).any() and (kept == 1).any()
    assert torch.equal(seen['out'], seen['features'] * kept)
    assert float(seen['out'].masked_select((kept == 0).expand_as(seen['out'])).abs().sum()) == 0


@pytest.mark.parametrize('background_dtype', ['float32', 'bfloat16'])
def test_bas_icl_background_branch_stays_frozen_and_undropped(background_dtype):
    model = grads_after(small(BASICLClassifier, drop=dict(drop_rate=1.0),
                              background_dtype=background_dtype), 'loss_bas')
    for prefix in ('backbone.later.', 'icl_attention_last.', 'classifier.'):
        assert not has_grad(model, prefix), prefix
    # S_bg reaches the generator (and the tap layers), never the later layers
    model.zero_grad(set_to_none=True)
    images, _ = batch()
    tap = model.icl_forward(images)['tap']
    foreground = model.classifier_loc(tap)[:, :1]
    model.background_class_maps(tap, foreground).mean(dim=(2, 3)).sum().backward()
    assert has_grad(model, 'classifier_loc.') and has_grad(model, 'icl_attention_tap.')
    for prefix in ('backbone.later.', 'icl_attention_last.', 'classifier.'):
        assert not has_grad(model, prefix), prefix
    model.eval()
    tap = model.icl_forward(images, drop=False)['tap']
    ones = torch.zeros(2, 1, *tap.shape[-2:])  # nothing erased: F_bg equals F
    background = model.background_class_maps(tap, ones)
    assert background.dtype == torch.float32
    tolerance = {} if background_dtype == 'float32' else dict(rtol=0.05, atol=0.05)
    torch.testing.assert_close(background, model.icl_forward(images, drop=False)['class_maps'],
                               **tolerance)


def test_unknown_loss_weight_rejected():
    with pytest.raises(KeyError):
        small(ICLClassifier, loss_weights=dict(bas=1.0))
    with pytest.raises(KeyError):
        small(BASICLClassifier, loss_weights=dict(cls=1.0))


@pytest.mark.parametrize('name, kind', [('icl_mobilenetv2_demo', 'cam'),
                                        ('bas_icl_mobilenetv2_demo', 'fused')])
def test_configs_select_icl_and_give_new_layers_10x_lr(name, kind):
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    from stage1_cam.models import build_model
    cfg = Config.fromfile(str(CONFIGS / f'{name}.py'))
    assert cfg.pseudo_label.map_kind == kind
    model_cfg = cfg.model.copy()
    model_cfg['backbone'] = dict(model_cfg['backbone'], pretrained=False)
    model = build_model(model_cfg)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    names = {id(p): n for n, p in model.named_parameters()}
    lrs = {names[id(param)]: group['lr'] for group in wrapper.optimizer.param_groups
           for param in group['params']}
    assert lrs['icl_attention_tap.theta.weight'] == pytest.approx(10 * base_lr)
    assert lrs['icl_attention_last.out.0.weight'] == pytest.approx(10 * base_lr)
    assert lrs['backbone.later.14.conv.0.0.weight'] == pytest.approx(base_lr)
