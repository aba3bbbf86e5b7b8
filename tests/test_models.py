"""BAS/CAM classifiers: shapes, gradient isolation, the frozen background branch."""
import copy

import pytest
import torch

from stage1_cam.models import BASClassifier, CAMClassifier
from stage1_cam.models import precision
from stage1_cam.models.bas import pick_classes, pick_one_class, run_frozen

NUM_CLASSES = 4


def small_bas(arch='mobilenet_v2', **kw):
    torch.manual_seed(0)
    return BASClassifier(backbone=dict(type=arch, pretrained=False, **kw), num_classes=NUM_CLASSES)


def batch(size=64):
    torch.manual_seed(1)
    images = torch.randn(2, 3, size, size)
    labels = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    return images, labels


@pytest.mark.parametrize('arch, kwargs, tap_channels, stride', [
    ('mobilenet_v2', {'output_stride': 8}, 96, 8),
    ('mobilenet_v2', {'output_stride': 16}, 96, 16),
    ('resnet50', {}, 1024, 16),
    ('resnet101', {}, 1024, 16),
    ('vgg16', {}, 512, 8),
])
def test_backbone_layout_shapes(arch, kwargs, tap_channels, stride):
    model = small_bas(arch, **kwargs).eval()
    images = torch.randn(1, 3, 64, 96)
    tap = model.backbone.tap(images)
    assert tap.shape == (1, tap_channels, 64 // stride, 96 // stride)
    maps = model.activation_maps(images)
    # generator and class maps share the tap's resolution (no resampling needed)
    assert maps['bas'].shape == (1, NUM_CLASSES, 64 // stride, 96 // stride)
    assert maps['cam'].shape == maps['bas'].shape
    assert maps['logits'].shape == (1, NUM_CLASSES)
    assert float(maps['bas'].min()) >= 0 and float(maps['bas'].max()) <= 1
    assert float(maps['cam'].min()) >= 0


@pytest.mark.parametrize('kwargs, tap_channels, tap_stride, out_stride', [
    ({'tap_block': 17}, 160, 8, 8),
    ({'tap_block': 16, 'output_stride': 16}, 160, 16, 16),
    ({'tap_stride': 8, 'output_stride': 16}, 96, 8, 16),  # the reference's WSOL layout
])
def test_mobilenet_tap_point_and_strides_are_configurable(kwargs, tap_channels, tap_stride,
                                                          out_stride):
    model = small_bas('mobilenet_v2', **kwargs).train()
    images, labels = batch()
    tap = model.backbone.tap(images)
    assert tap.shape == (2, tap_channels, 64 // tap_stride, 64 // tap_stride)
    assert model.backbone.tap_channels == tap_channels
    assert model.backbone.later(tap).shape[-2:] == (64 // out_stride, 64 // out_stride)
    # the generator's map is pooled to F's resolution for L_frg; every loss trains
    losses = model.loss(images, labels)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert model.classifier_loc[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize('output_stride', [8, 16])
def test_mobilenet_expansion_tap_is_the_same_network_cut_one_layer_later(output_stride):
    """tap_point='expansion' moves the cut after block 14's 1x1 expansion + ReLU6:
    the network computes the same function, and the tap is non-negative (erasing
    a feature to 0 then means "nothing there", as on ResNet's layer3)."""
    torch.manual_seed(0)
    from stage1_cam.models.backbones import mobilenet_v2
    block_output = mobilenet_v2(pretrained=False, output_stride=output_stride).eval()
    expansion = mobilenet_v2(pretrained=False, output_stride=output_stride,
                             tap_point='expansion').eval()
    for (_, a), (_, b) in zip(block_output.state_dict().items(), expansion.state_dict().items()):
        b.copy_(a)  # same parameters in the same order, under other module names
    images = torch.randn(2, 3, 64, 64)
    tap = expansion.tap(images)
    assert expansion.tap_channels == 576 and tap.shape[1] == 576
    assert float(tap.min()) >= 0
    assert float(block_output.tap(images).min()) < 0  # the linear bottleneck is signed
    assert torch.allclose(expansion(images), block_output(images), atol=1e-5)


def test_mobilenet_expansion_tap_needs_a_non_residual_block():
    with pytest.raises(ValueError, match='non-residual'):
        small_bas('mobilenet_v2', tap_block=15, tap_point='expansion')
    with pytest.raises(ValueError, match='tap_point'):
        small_bas('mobilenet_v2', tap_point='middle')


@pytest.mark.parametrize('kwargs', [{'tap_stride': 16, 'output_stride': 8}, {'tap_block': 5},
                                    {'output_stride': 32}])
def test_mobilenet_rejects_impossible_layouts(kwargs):
    with pytest.raises(ValueError, match='mobilenet_v2'):
        small_bas('mobilenet_v2', **kwargs)


def grads_after(model, loss_name):
    images, labels = batch()
    model.train()
    model.zero_grad(set_to_none=True)
    torch.manual_seed(2)
    model.loss(images, labels)[loss_name].backward()
    return {name: p.grad for name, p in model.named_parameters()}


def has_grad(grads, prefix):
    return any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if n.startswith(prefix))


def test_background_branch_trains_generator_not_later_stage():
    """S_bg (the numerator of L_bas) reaches the generator and, through the
    generator's input, the tap layers; never the later stage or classifier."""
    model = small_bas().train()
    images, _ = batch()
    tap = model.backbone.tap(images)
    foreground = model.classifier_loc(tap)[:, :1]
    background_logits = model.background_class_maps(tap, foreground).mean(dim=(2, 3))
    background_logits.sum().backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert has_grad(grads, 'classifier_loc.')
    assert has_grad(grads, 'backbone.tap.')
    assert not has_grad(grads, 'backbone.later.')
    assert not has_grad(grads, 'classifier.')


def test_bas_loss_never_reaches_later_stage():
    grads = grads_after(small_bas(), 'loss_bas')
    assert not has_grad(grads, 'backbone.later.')
    assert not has_grad(grads, 'classifier.')


def test_foreground_guidance_trains_only_generator_path():
    grads = grads_after(small_bas(), 'loss_frg')
    assert has_grad(grads, 'classifier_loc.')
    assert not has_grad(grads, 'backbone.later.')
    assert not has_grad(grads, 'classifier.')  # F is detached in the WSSS version


def test_classification_loss_does_not_touch_generator():
    grads = grads_after(small_bas(), 'loss_mcls')
    assert has_grad(grads, 'classifier.') and has_grad(grads, 'backbone.later.')
    assert not has_grad(grads, 'classifier_loc.')


def test_picked_logit_gets_no_gradient_from_bas_loss():
    model = small_bas().train()
    images, labels = batch()
    captured = {}
    original = model.classify_features

    def spy(tap_features):
        class_maps = original(tap_features)
        class_maps.retain_grad()
        captured['F'] = class_maps
        return class_maps

    model.classify_features = spy
    model.loss(images, labels)['loss_bas'].backward()
    assert captured['F'].grad is None


def deepcopy_background(model, tap, foreground, norm):
    """S_bg's map the slow, obvious way: fresh copies of the later stage and
    classifier, in train mode ('batch': the reference's copy; 'pooled': the
    same copy run on clean and erased together, erased half kept) or in eval
    mode ('running')."""
    erased = tap * (1 - foreground)
    later, classifier = copy.deepcopy(model.backbone.later), copy.deepcopy(model.classifier)
    if norm == 'running':
        later.eval()
    if norm == 'pooled':
        return classifier(later(torch.cat([tap, erased])))[tap.shape[0]:]
    return classifier(later(erased))


@pytest.mark.parametrize('norm', ['pooled', 'batch', 'running'])
def test_frozen_branch_equals_a_deepcopy_and_keeps_running_stats(norm):
    """Each background norm computes what copies of the later stage compute
    (deepcopy_background). Either way the model's running statistics stay as
    they were and its layers are back in training mode afterwards."""
    model = small_bas().train()
    model.background_norm = norm
    images, _ = batch()
    tap = model.backbone.tap(images).detach()
    fg = torch.rand(2, 1, *tap.shape[-2:])
    running_before = {n: b.clone() for n, b in model.backbone.later.named_buffers()}
    ours = model.background_class_maps(tap, fg)
    assert ours.shape[0] == tap.shape[0]
    torch.testing.assert_close(ours, deepcopy_background(model, tap, fg, norm),
                               rtol=1e-4, atol=1e-5)
    for name, buffer in model.backbone.later.named_buffers():
        assert torch.equal(buffer, running_before[name]), name
    assert all(m.training for m in model.modules())


def test_pooled_and_running_background_follow_the_erasure_where_batch_norm_does_not():
    """The cause of BAS's collapse on photographs: with the erased batch's own
    BatchNorm statistics, scaling the features down (a map covering more) is
    divided out again, so F_bg is as far from 'everything erased' at 90%
    coverage as at none; with statistics that include clean features
    ('pooled', the default) or running ones it comes closer the more the map
    covers."""
    model = small_bas().train()
    images, _ = batch()
    tap = model.backbone.tap(images).detach()
    coverages = (0.0, 0.5, 0.9, 0.99)

    def distances_to_all_erased(norm):
        model.background_norm = norm
        everything = model.background_class_maps(tap, torch.ones(2, 1, *tap.shape[-2:]))
        return [float((model.background_class_maps(tap, torch.full_like(tap[:, :1], m))
                       - everything).abs().mean()) for m in coverages]

    batch_distances = distances_to_all_erased('batch')
    assert max(batch_distances) - min(batch_distances) < 1e-3 * max(batch_distances)
    for norm in ('pooled', 'running'):
        distances = distances_to_all_erased(norm)
        assert all(a > b for a, b in zip(distances, distances[1:])), (norm, distances)
        assert distances[2] < 0.5 * distances[0], (norm, distances)
    # pooled with nothing erased is the clean batch's own batch-statistics pass
    model.background_norm = 'pooled'
    torch.testing.assert_close(model.background_class_maps(tap, torch.zeros_like(tap[:, :1])),
                               deepcopy_background(model, tap, 0.0, 'batch'),
                               rtol=1e-4, atol=1e-5)


def test_unknown_background_norm_is_rejected():
    with pytest.raises(ValueError, match="'pooled', 'running', 'batch'"):
        BASClassifier(backbone=dict(type='mobilenet_v2', pretrained=False),
                      num_classes=NUM_CLASSES, background_norm='eval')


def test_bfloat16_background_branch_is_close_to_float32_and_as_isolated():
    """background_dtype='bfloat16': the same S_bg up to bfloat16 rounding, in
    float32, and its gradient still reaches only the generator and tap layers."""
    exact, low = small_bas().train(), small_bas().train()
    low.background_dtype = 'bfloat16'
    images, _ = batch()
    results = []
    for model in (exact, low):
        tap = model.backbone.tap(images)
        foreground = model.classifier_loc(tap)[:, :1]
        background = model.background_class_maps(tap, foreground)
        background.mean(dim=(2, 3)).sum().backward()
        results.append(background)
        grads = {name: p.grad for name, p in model.named_parameters()}
        assert has_grad(grads, 'classifier_loc.') and has_grad(grads, 'backbone.tap.')
        assert not has_grad(grads, 'backbone.later.') and not has_grad(grads, 'classifier.')
    assert results[1].dtype == torch.float32
    assert not torch.equal(results[1], results[0])  # it did run in bfloat16
    # S_bg (what L_bas reads, the map's mean) agrees to bfloat16's ~3 digits
    torch.testing.assert_close(results[1].mean(dim=(2, 3)), results[0].mean(dim=(2, 3)),
                               rtol=0.02, atol=0.01)
    assert torch.nn.functional.cosine_similarity(results[1].flatten(), results[0].flatten(),
                                                 0) > 0.999
    cos = torch.nn.functional.cosine_similarity(exact.classifier_loc[0].weight.grad.flatten(),
                                                low.classifier_loc[0].weight.grad.flatten(), 0)
    # the generator is pushed the same way (bfloat16 rounding through five
    # train-mode BN blocks of a random-init net scatters the rest)
    assert cos > 0.85


def test_background_dtype_auto_follows_the_hardware(monkeypatch):
    monkeypatch.setattr(precision, 'native_bfloat16', lambda device: True)
    assert precision.resolve_background_dtype('auto', 'cpu') is torch.bfloat16
    monkeypatch.setattr(precision, 'native_bfloat16', lambda device: False)
    assert precision.resolve_background_dtype('auto', 'cpu') is torch.float32
    assert precision.resolve_background_dtype('bfloat16', 'cpu') is torch.bfloat16
    assert precision.resolve_background_dtype('float32', 'cpu') is torch.float32
    # float32 or auto-without-hardware: exactly the reference's arithmetic
    model = small_bas().train()
    model.background_dtype = 'auto'
    images, _ = batch()
    tap = model.backbone.tap(images).detach()
    fg = torch.rand(2, 1, *tap.shape[-2:])
    reference = deepcopy_background(model, tap, fg, model.background_norm)
    torch.testing.assert_close(model.background_class_maps(tap, fg), reference,
                               rtol=1e-4, atol=1e-5)


def test_unknown_background_dtype_is_rejected():
    with pytest.raises(ValueError, match="'float32', 'bfloat16', 'auto'"):
        BASClassifier(backbone=dict(type='mobilenet_v2', pretrained=False),
                      num_classes=NUM_CLASSES, background_dtype='float16')


def test_run_frozen_uses_current_weights():
    layer = torch.nn.Linear(3, 2)
    x = torch.randn(4, 3)
    with torch.no_grad():
        layer.weight.add_(1.0)  # an optimizer step
    torch.testing.assert_close(run_frozen(layer, x), layer(x))


def test_run_frozen_sends_gradient_to_the_input_only_and_restores_the_module():
    block = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)).train()
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    before = block(x).sum()                  # a graph recorded before the frozen pass
    stats = {k: v.clone() for k, v in block.state_dict().items()}
    run_frozen(block, x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in block.parameters())
    assert all(torch.equal(v, stats[k]) for k, v in block.state_dict().items())
    assert all(p.requires_grad for p in block.parameters()) and block[1].track_running_stats
    before.backward()                        # the earlier graph still trains the weights
    assert all(p.grad is not None for p in block.parameters())


def test_pick_one_class_only_positives_and_roughly_uniform():
    labels = torch.tensor([[1.0, 0.0, 1.0, 1.0]]).repeat(3000, 1)
    torch.manual_seed(0)
    picked = pick_one_class(labels)
    counts = torch.bincount(picked, minlength=4)
    assert counts[1] == 0
    assert all(800 < c < 1200 for c in counts[[0, 2, 3]].tolist())
    with pytest.raises(ValueError, match='no positive class'):
        pick_one_class(torch.zeros(1, 4))


def test_pick_classes_all_gives_every_positive_once():
    labels = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0]])
    image_index, class_index = pick_classes(labels, 'all')
    assert sorted(zip(image_index.tolist(), class_index.tolist())) == [(0, 0), (0, 2), (0, 3),
                                                                       (1, 1)]
    image_index, class_index = pick_classes(labels, 'random')
    assert image_index.tolist() == [0, 1] and labels[image_index, class_index].all()
    with pytest.raises(ValueError, match='no positive class'):
        pick_classes(torch.zeros(1, 4), 'all')
    with pytest.raises(ValueError, match='class choice'):
        pick_classes(labels, 'first')


@pytest.mark.parametrize('choice, trained', [('all', {0, 2, 3}), ('random', None)])
def test_class_choice_decides_which_generator_maps_the_bas_losses_train(choice, trained):
    """'all': the BAS losses reach the generator filter of every positive class of
    the batch in one step and of no absent class; 'random': one class per image."""
    torch.manual_seed(0)
    model = BASClassifier(backbone=dict(type='mobilenet_v2', pretrained=False),
                          num_classes=NUM_CLASSES, class_choice=choice).train()
    images, _ = batch()
    labels = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    losses = model(images, {'labels': labels}, mode='loss')
    generator = model.classifier_loc[0].weight
    bas_only = losses['loss_bas'] + losses['loss_area'] + losses['loss_frg']
    grad, = torch.autograd.grad(bas_only, generator)
    reached = {c for c in range(NUM_CLASSES) if grad[c].abs().sum() > 0}
    if trained is None:  # one of image 0's two classes, and image 1's only class
        assert 3 in reached and len(reached & {0, 2}) == 1 and 1 not in reached
    else:
        assert reached == trained


def test_background_branch_erases_each_pair_from_its_own_image():
    """With class_choice='all' an image recurs once per class: row i of the erased
    batch is image_index[i] under its own map, normalised with this step's clean batch."""
    model = small_bas().train()
    images, _ = batch()
    tap = model.backbone.tap(images).detach()
    torch.manual_seed(2)
    maps = torch.rand(3, 1, *tap.shape[-2:])
    image_index = torch.tensor([0, 0, 1])
    with torch.no_grad():
        rows = model.background_class_maps(tap, maps, image_index)
        pooled = model.frozen_class_maps(torch.cat([tap, tap[image_index] * (1 - maps)]), 'batch')
    torch.testing.assert_close(rows, pooled[2:])
    assert not torch.allclose(rows[0], rows[1])  # two maps of one image differ


def test_cam_classifier_loss_and_label_shape_check():
    torch.manual_seed(0)
    model = CAMClassifier(backbone=dict(type='mobilenet_v2', pretrained=False), num_classes=4)
    images, labels = batch()
    loss = model(images, {'labels': labels}, mode='loss')['loss_cls']
    loss.backward()
    assert loss.item() > 0
    with pytest.raises(ValueError, match='num_classes'):
        model(images, {'labels': torch.ones(2, 5)}, mode='loss')


def test_unknown_loss_weight_is_rejected():
    with pytest.raises(KeyError, match='unknown BAS loss weights'):
        BASClassifier(backbone=dict(type='mobilenet_v2', pretrained=False), num_classes=2,
                      loss_weights={'bass': 1.0})
