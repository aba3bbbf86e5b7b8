"""Each stage-1 loss against hand-computed values and its gradient contract."""
import math

import pytest
import torch

from stage1_cam import losses


def test_multilabel_softmax_matches_hand_computation():
    logits = torch.tensor([[2.0, 0.0, 1.0], [0.5, -1.0, 3.0]])
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    # image 0: positives 0 and 2, negative 1; image 1: positive 1, negatives 0 and 2
    image0 = -math.log(math.e ** 2 / (math.e ** 2 + 1)) - math.log(math.e / (math.e + 1))
    image1 = -math.log(math.exp(-1) / (math.exp(-1) + math.exp(0.5) + math.exp(3)))
    expected = (image0 + image1) / 2
    assert losses.multilabel_softmax_loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)


def test_multilabel_softmax_all_positive_image_contributes_zero():
    logits = torch.tensor([[3.0, -2.0]], requires_grad=True)
    loss = losses.multilabel_softmax_loss(logits, torch.ones(1, 2))
    assert loss.item() == pytest.approx(0.0)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_background_suppression_ratio_guard_and_stop_gradient():
    picked = torch.tensor([2.0, 1.0, -1.0], requires_grad=True)
    background = torch.tensor([1.0, 3.0, -0.5], requires_grad=True)
    loss = losses.background_suppression_loss(picked, background)
    # 1/2 ; guarded (3 > 1) -> 1 ; ReLU(-0.5)=0 over ReLU(-1)=0 -> 0
    assert loss.item() == pytest.approx((0.5 + 1.0 + 0.0) / 3, rel=1e-6)
    loss.backward()
    assert picked.grad is None  # S is a stop-gradient denominator
    # d/dS_bg of S_bg/S averaged over 3 samples; the guarded one has no gradient
    assert background.grad.tolist() == pytest.approx([1 / 2 / 3, 0.0, 0.0])


def test_background_suppression_zero_when_background_silent():
    loss = losses.background_suppression_loss(torch.tensor([5.0]), torch.tensor([-3.0]))
    assert loss.item() == 0.0


def test_foreground_guidance_is_cross_entropy_on_picked_class():
    guided = torch.tensor([[0.0, 2.0, 0.0]])
    expected = -math.log(math.e ** 2 / (math.e ** 2 + 2))
    loss = losses.foreground_guidance_loss(guided, torch.tensor([1]))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_area_loss_is_mean_of_map():
    fg = torch.zeros(2, 1, 4, 4)
    fg[0, 0, :2] = 1.0  # half of image 0
    assert losses.area_loss(fg).item() == pytest.approx(0.25)


def test_multilabel_soft_margin_matches_torch_definition():
    logits = torch.tensor([[1.0, -1.0]])
    labels = torch.tensor([[1.0, 0.0]])
    expected = (-math.log(torch.sigmoid(torch.tensor(1.0)).item())
                - math.log(1 - torch.sigmoid(torch.tensor(-1.0)).item())) / 2
    assert losses.multilabel_soft_margin_loss(logits, labels).item() == pytest.approx(expected)
