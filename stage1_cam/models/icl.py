"""ICL: In-sample Contrastive Learning and Consistent Attention (Ki et al., ACCV 2020).

This project's interpretation (the paper's equations were not available; see
docs/icl.md for what is verified and what is chosen). Forward pass::

    x_tap            = backbone.tap(image)
    z_tap,  A_tap    = NonLocalAttention(x_tap)     A: channel mean of z, min-max [0, 1]
    x_later          = backbone.later(AttentionDrop(z_tap, A_tap))
    z_last, A_last   = NonLocalAttention(x_later)
    F                = classifier(AttentionDrop(z_last, A_last))
    s                = GAP(F)

    L = w_cls L_cls(s) + w_ca mean_{points} L_ca(z, A) + w_fc L_fc(A_tap, A_last)

The two insertion points are the outputs of ``backbone.tap`` and
``backbone.later``: every backbone exposes them (ADL uses several late
stages; these are the two this code base has for all backbones). CAMs are
ReLU(F) with the drop layers off, as for the CAM baseline.

``BASICLClassifier`` adds the BAS generator and losses on top (see its
docstring).
"""
import torch
import torch.nn.functional as F
from torch import nn

from .. import icl_losses
from ..registry import MODELS
from .bas import BASClassifier, run_frozen
from .cam import CLASSIFICATION_LOSSES, CAMClassifier


class NonLocalAttention(nn.Module):
    """Embedded-Gaussian non-local block (Wang et al. 2018) plus a spatial attention map.

    theta, phi, g: 1x1 convs to ``in_channels // reduction`` channels; phi and g
    optionally 2x2 max-pooled (``subsample``, skipped on maps smaller than 2x2);
    y = softmax(theta^T phi) g; z = BN(W y) + x with BN's weight and bias at
    zero, so the block starts as the identity and the attention starts as
    ADL's channel-pooled attention. Returns (z, A), A = min-max normalised
    channel mean of z, (B, 1, h, w) in [0, 1].
    """

    def __init__(self, in_channels, reduction=2, subsample=True):
        super().__init__()
        inter = max(1, in_channels // reduction)
        self.inter_channels = inter
        self.subsample = subsample
        self.theta = nn.Conv2d(in_channels, inter, 1)
        self.phi = nn.Conv2d(in_channels, inter, 1)
        self.g = nn.Conv2d(in_channels, inter, 1)
        self.out = nn.Sequential(nn.Conv2d(inter, in_channels, 1), nn.BatchNorm2d(in_channels))
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)

    def forward(self, x):
        batch, _, height, width = x.shape
        query = self.theta(x).flatten(2).transpose(1, 2)  # (B, hw, c')
        key, value = self.phi(x), self.g(x)
        if self.subsample and height >= 2 and width >= 2:
            key, value = F.max_pool2d(key, 2), F.max_pool2d(value, 2)
        affinity = torch.softmax(query @ key.flatten(2), dim=-1)  # (B, hw, hw')
        y = (affinity @ value.flatten(2).transpose(1, 2)).transpose(1, 2)  # (B, c', hw)
        z = self.out(y.reshape(batch, self.inter_channels, height, width)) + x
        return z, icl_losses.normalize_attention(z.mean(dim=1, keepdim=True))


class AttentionDrop(nn.Module):
    """ADL-style drop layer that also drops the background (ICL).

    In training, with probability ``drop_rate`` the features are multiplied by
    the hard mask keep = (A < gamma * max A) & (A >= beta * max A): the most
    discriminative region and the background are zeroed. Otherwise they are
    multiplied by the importance map sigmoid(A) (``importance='sigmoid'``, as
    ADL; A here is the normalised map) or left unchanged
    (``importance='none'``). One draw per batch as ADL (``per_sample=False``)
    or one per image. Images with a flat attention map are not dropped. In
    eval mode, or with ``enabled=False``, the layer is the identity. No
    gradient flows through the hard mask; it does through sigmoid(A).
    """

    def __init__(self, drop_rate=0.75, gamma=0.9, beta=0.1, per_sample=False,
                 importance='sigmoid'):
        super().__init__()
        icl_losses.check_thresholds(gamma, beta)
        if not 0.0 <= drop_rate <= 1.0:
            raise ValueError(f'drop_rate must be in [0, 1], got {drop_rate}')
        if importance not in ('sigmoid', 'none'):
            raise ValueError(f"importance must be 'sigmoid' or 'none', got {importance!r}")
        self.drop_rate = drop_rate
        self.gamma = gamma
        self.beta = beta
        self.per_sample = per_sample
        self.importance = importance

    def keep_mask(self, attention):
        """(B, 1, h, w) float mask, 1 where the drop step keeps the feature."""
        keep = icl_losses.region_masks(attention, self.gamma, self.beta)['kept']
        flat = icl_losses.normalize_attention(attention.detach()).flatten(1).amax(dim=1) == 0
        return (keep | flat.view(-1, 1, 1, 1)).to(attention.dtype)

    def forward(self, features, attention, enabled=True):
        if not (self.training and enabled) or self.drop_rate == 0.0:
            return features
        draws = attention.shape[0] if self.per_sample else 1
        use_drop = (torch.rand(draws, 1, 1, 1, device=features.device) < self.drop_rate)
        if self.importance == 'sigmoid':
            other = torch.sigmoid(attention)
        else:
            other = torch.ones_like(attention)
        selector = torch.where(use_drop, self.keep_mask(attention), other)
        return features * selector


class ICLMixin:
    """The ICL attention/drop modules, forward pass and auxiliary losses.

    Parameters of the new modules are named ``icl_*`` (configs give them the
    classifier's 10x LR through ``paramwise_cfg``).
    """

    def _build_icl(self, attention=None, drop=None, contrastive=None):
        attention = dict(attention or {})
        drop = dict(drop or {})
        contrastive = {'margin': 0.5, 'points': ('tap', 'last'), **(contrastive or {})}
        unknown = set(contrastive['points']) - {'tap', 'last'}
        if unknown or set(contrastive) - {'margin', 'points'}:
            raise KeyError(f'bad ICL contrastive settings {contrastive}; keys margin, points '
                           "(a subset of ('tap', 'last'))")
        self.icl_attention_tap = NonLocalAttention(self.backbone.tap_channels, **attention)
        self.icl_attention_last = NonLocalAttention(self.backbone.out_channels, **attention)
        self.icl_drop_tap = AttentionDrop(**drop)
        self.icl_drop_last = AttentionDrop(**drop)
        self.contrastive_margin = contrastive['margin']
        self.contrastive_points = tuple(contrastive['points'])

    def icl_forward(self, images, drop=True):
        """dict(tap=z_tap, attention_tap, last=z_last, attention_last, class_maps)."""
        tap, attention_tap = self.icl_attention_tap(self.backbone.tap(images))
        later = self.backbone.later(self.icl_drop_tap(tap, attention_tap, enabled=drop))
        last, attention_last = self.icl_attention_last(later)
        class_maps = self.classifier(self.icl_drop_last(last, attention_last, enabled=drop))
        return {'tap': tap, 'attention_tap': attention_tap, 'last': last,
                'attention_last': attention_last, 'class_maps': class_maps}

    def icl_losses(self, outputs):
        """Unweighted L_ca (mean over the configured points) and L_fc."""
        drops = {'tap': self.icl_drop_tap, 'last': self.icl_drop_last}
        contrastive = [icl_losses.contrastive_attention_loss(
            outputs[point], outputs[f'attention_{point}'], gamma=drops[point].gamma,
            beta=drops[point].beta, margin=self.contrastive_margin)
            for point in self.contrastive_points]
        loss_ca = torch.stack(contrastive).mean() if contrastive \
            else outputs['class_maps'].sum() * 0.0
        loss_fc = icl_losses.foreground_consistency_loss(
            outputs['attention_tap'], outputs['attention_last'])
        return loss_ca, loss_fc

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'predict':  # logits through the attention blocks, no drop
            return self.icl_forward(inputs, drop=False)['class_maps'].mean(dim=(2, 3))
        return super().forward(inputs, data_samples, mode)


def _check_weights(loss_weights, defaults, name):
    unknown = set(loss_weights or {}) - set(defaults)
    if unknown:
        raise KeyError(f'unknown {name} loss weights {sorted(unknown)}; known: {sorted(defaults)}')
    return {**defaults, **(loss_weights or {})}


@MODELS.register_module()
class ICLClassifier(ICLMixin, CAMClassifier):
    """CAM classifier with ICL's non-local attention, drop layers and losses.

    ``loss_weights``: keys cls, ca, fc (defaults 1, 1, 1: this project's choice).
    ``attention``: NonLocalAttention kwargs (reduction=2, subsample=True).
    ``drop``: AttentionDrop kwargs (drop_rate=0.75, gamma=0.9, beta=0.1,
    per_sample=False, importance='sigmoid'), shared by both insertion points.
    ``contrastive``: margin (0.5) and points (('tap', 'last')) of L_ca.
    """

    title = 'ICL'
    DEFAULT_WEIGHTS = {'cls': 1.0, 'ca': 1.0, 'fc': 1.0}

    def __init__(self, backbone, num_classes, cls_loss='multilabel_soft_margin', loss_weights=None,
                 attention=None, drop=None, contrastive=None, data_preprocessor=None,
                 init_cfg=None):
        super().__init__(backbone, num_classes, cls_loss=cls_loss,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.loss_weights = _check_weights(loss_weights, self.DEFAULT_WEIGHTS, 'ICL')
        self._build_icl(attention, drop, contrastive)

    def loss(self, images, labels):
        outputs = self.icl_forward(images)
        logits = outputs['class_maps'].mean(dim=(2, 3))
        loss_ca, loss_fc = self.icl_losses(outputs)
        w = self.loss_weights
        return {'loss_cls': w['cls'] * CLASSIFICATION_LOSSES[self.cls_loss](logits, labels),
                'loss_ca': w['ca'] * loss_ca, 'loss_fc': w['fc'] * loss_fc}

    @torch.no_grad()
    def activation_maps(self, images):
        """dict(cam=ReLU(F) with the drop layers off, logits=(B, C))."""
        class_maps = self.icl_forward(images, drop=False)['class_maps']
        return {'cam': torch.relu(class_maps), 'logits': class_maps.mean(dim=(2, 3))}


@MODELS.register_module()
class BASICLClassifier(ICLMixin, BASClassifier):
    """BAS with the ICL attention/drop layers and losses.

    * The generator reads z_tap, the tap-point non-local output before the drop
      (it must see the whole image).
    * L_mcls scores the ICL path with its drops (ICL's classification
      training), and L_ca / L_fc come from that pass.
    * The background branch re-runs later -> non-local block -> classifier with
      frozen weights on z_tap.detach() * (1 - M_fg), drop layers OFF: it must
      score the background as the classifier sees it at inference, and a
      random drop there would lower S_bg at random and so weaken L_bas.
    * S of L_bas and the F of L_frg come from the same undropped pass on
      z_tap (``undropped_class_maps``: the background branch's function with
      nothing erased, BatchNorm on the batch's statistics as BAS's S), so that
      S_bg / S measures the erasure alone, not the random drop (with the
      drops in S, a dropped batch lowered S and raised the ratio).

    ``loss_weights``: BAS's mcls, frg, bas, area (1, 0.2, 1, 1.2) plus ICL's
    ca, fc (1, 1).
    """

    title = 'BAS+ICL'

    DEFAULT_WEIGHTS = {**BASClassifier.DEFAULT_WEIGHTS, 'ca': 1.0, 'fc': 1.0}

    def __init__(self, backbone, num_classes, cls_loss='multilabel_softmax', loss_weights=None,
                 attention=None, drop=None, contrastive=None, background_dtype='float32',
                 background_norm='pooled', generator_bias=False, class_choice='random',
                 data_preprocessor=None, init_cfg=None):
        super().__init__(backbone, num_classes, cls_loss=cls_loss, loss_weights=loss_weights,
                         background_dtype=background_dtype, background_norm=background_norm,
                         generator_bias=generator_bias, class_choice=class_choice,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self._build_icl(attention, drop, contrastive)

    def classify_features(self, tap_features):
        """F from the (non-local) tap features, drop layers off."""
        last, _ = self.icl_attention_last(self.backbone.later(tap_features))
        return self.classifier(last)

    def frozen_class_maps(self, inputs, norm):
        """F_bg through the frozen later stage, non-local block and
        classifier (no drop)."""
        later = run_frozen(self.backbone.later, inputs, norm)
        last, _ = run_frozen(self.icl_attention_last, later, norm)
        return run_frozen(self.classifier, last, norm)

    def undropped_class_maps(self, tap_features):
        """F of z_tap with the drops off, for S (L_bas) and L_frg.

        The weights are the current ones, out of the graph, and BatchNorm
        normalises with the batch's statistics without updating the running
        ones (the dropped pass does that, once per step). S is a stop-gradient
        in L_bas and L_frg reads F.detach() (BAS's WSSS code), so nothing of
        this pass needs a gradient."""
        with torch.no_grad():
            later = run_frozen(self.backbone.later, tap_features, 'batch')
            last, _ = run_frozen(self.icl_attention_last, later, 'batch')
            return run_frozen(self.classifier, last, 'batch')

    def loss(self, images, labels):
        outputs = self.icl_forward(images)
        result = self.bas_losses(outputs['tap'], self.undropped_class_maps(outputs['tap']),
                                 labels,
                                 classification_logits=outputs['class_maps'].mean(dim=(2, 3)))
        loss_ca, loss_fc = self.icl_losses(outputs)
        result['loss_ca'] = self.loss_weights['ca'] * loss_ca
        result['loss_fc'] = self.loss_weights['fc'] * loss_fc
        return result

    @torch.no_grad()
    def activation_maps(self, images):
        """dict(bas=generator maps in [0, 1], cam=ReLU(F), logits), drops off."""
        outputs = self.icl_forward(images, drop=False)
        class_maps = outputs['class_maps']
        return {'bas': self.classifier_loc(outputs['tap']), 'cam': torch.relu(class_maps),
                'logits': class_maps.mean(dim=(2, 3))}


__all__ = ['NonLocalAttention', 'AttentionDrop', 'ICLClassifier', 'BASICLClassifier']
