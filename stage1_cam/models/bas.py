"""Background Activation Suppression (BAS) for WSSS (Zhai, Wu et al., IJCV).

Forward pass for one training batch::

    tap       = backbone.tap(image)                   (generator input)
    F         = classifier(backbone.later(tap))       class activation map
    s         = GAP(F)                                image logits
    M         = sigmoid(conv3x3(tap))                 per-class foreground maps
    p         = one random ground-truth class per image
    M_fg      = M[p]
    S_bg      = GAP(frozen(classifier . later)(tap.detach() * (1 - M_fg)))[p]
    guided    = GAP(F.detach() * M_fg)

    L = w_mcls L_mcls(s) + w_frg CE(guided, p) + w_bas L_bas(s[p], S_bg) + w_ac mean(M_fg)

"frozen" means the *current* weights of ``later`` and ``classifier``, taken out
of the graph for that pass (``run_frozen``), so L_bas trains only the generator (and,
through the generator's input, the tap layers). The reference deep-copies the
later stage every step; calling it with detached weights computes the same
thing without the copy. Its BatchNorm layers normalise the erased features with
the statistics of the clean and the erased batch pooled
(``background_norm='pooled'``, see the class docstring; the reference's copy
in train mode used the erased batch's own, ``'batch'``, which divides the
erasure out again), and their running statistics are left untouched.
"""
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from .. import losses
from ..registry import MODELS
from .cam import CLASSIFICATION_LOSSES, CAMClassifier, as_label_tensor
from .precision import background_precision, check_background_dtype


def _check_positives(labels):
    if (labels.sum(dim=1) <= 0).any():
        raise ValueError('an image in the batch has no positive class; BAS needs at least one '
                         '(drop images without labels from the training split).')


def pick_one_class(labels):
    """One ground-truth class index per image, uniformly among its positives."""
    _check_positives(labels)
    return torch.multinomial(labels.float(), 1).squeeze(1)


CLASS_CHOICES = ('random', 'all')


def pick_classes(labels, choice='random'):
    """(image index, class index) pairs whose maps the BAS losses train this step.

    'random': one positive class per image (the reference's ``get_p_label``);
    'all': every positive class of every image, so each class map is trained on
    each of its images every step instead of on 1/k of them (k classes in the image).
    """
    if choice == 'random':
        return torch.arange(labels.shape[0], device=labels.device), pick_one_class(labels)
    if choice == 'all':
        _check_positives(labels)
        image_index, class_index = (labels > 0).nonzero(as_tuple=True)
        return image_index, class_index
    raise ValueError(f'unknown BAS class choice {choice!r}; choose one of {CLASS_CHOICES}')


BACKGROUND_NORMS = ('pooled', 'running', 'batch')
# How ``frozen`` itself normalises: 'pooled' is a 'batch' pass over a larger batch.
FROZEN_NORMS = ('running', 'batch')


@contextmanager
def frozen(module, norm='batch'):
    """For one pass: ``module``'s parameters out of the autograd graph (the
    gradient still reaches its input) and the running statistics of its
    BatchNorm layers left alone. Graphs recorded before keep their
    parameters: their gradients still flow in the backward pass.

    ``norm``: how BatchNorm layers in training mode normalise the pass:
    'batch' with the statistics of the batch passed (the reference's copy in
    train mode), 'running' with their running statistics (as at inference).
    """
    if norm not in FROZEN_NORMS:
        raise ValueError(f'unknown frozen-pass norm {norm!r}; choose one of {FROZEN_NORMS}')
    params = [p for p in module.parameters() if p.requires_grad]
    norms = [m for m in module.modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training]
    tracking = [m for m in norms if m.track_running_stats]
    for param in params:
        param.requires_grad_(False)
    for layer in tracking:
        layer.track_running_stats = False
    if norm == 'running':
        for layer in norms:
            layer.training = False
    try:
        yield module
    finally:
        for param in params:
            param.requires_grad_(True)
        for layer in tracking:
            layer.track_running_stats = True
        for layer in norms:
            layer.training = True


def run_frozen(module, inputs, norm='batch'):
    """``module(inputs)`` with its current weights detached from the graph and
    its BatchNorm running statistics untouched (see ``frozen``).

    Toggling ``requires_grad`` costs nothing per step, where
    ``torch.func.functional_call`` re-binds every parameter and clones every
    buffer on each call (measured 2-3% of a BAS step on the CPU,
    benchmarks/bench_bas_overhead.py)."""
    with frozen(module, norm):
        return module(inputs)


@MODELS.register_module()
class BASClassifier(CAMClassifier):
    """CAM classifier plus the BAS generator and losses.

    ``loss_weights``: dict with keys mcls, frg, bas, area (defaults 1, 0.2, 1,
    1.2: BAS-Extension ``train_bas.py``).
    ``frg_detach``: L_frg sees F.detach() (WSSS code, default: only the
    generator learns from it); False lets it train F too, as the WSOL code.
    ``background_dtype``: precision of the background branch, 'float32'
    (default), 'bfloat16' or 'auto' (bfloat16 where the hardware has it; see
    ``precision.py``).
    ``background_norm``: how the frozen later stage's BatchNorm layers
    normalise the erased features (training only; at inference there is no
    background branch):

    - 'pooled' (default): the statistics of the clean and the erased batch
      together. The frozen stage runs once on cat([tap, erased]) and the
      erased half is kept. The erasure is measured against the clean
      features of the same step, so S_bg falls as the map covers the
      object, and the scale stays that of the current weights.
    - 'running': the running statistics (as at inference). They lag the
      weights and know nothing of erasure; once the most discriminative
      part is covered the picked logit of the erased batch is ~0, L_bas
      (a ratio of ReLU'd logits) is ~0 and the map stops growing (seen on
      the demo).
    - 'batch': the erased batch's own statistics, as the reference's deep
      copy in train mode. The normalisation divides out how much of the
      features the map removed, so S_bg stays near S whatever the map
      covers; on photographs the maps lit the background.

    README, "BAS as implemented", has the measurements.
    ``generator_bias``: the generator's 3x3 conv gets a bias (default
    False, as the reference). A tap of signed, zero-centred features (the
    linear bottleneck of MobileNetV2) leaves a bias-free generator no way to
    lower its map where nothing is, so the area constraint cannot act.
    ``class_choice``: which generator maps the BAS losses train per step:
    'random' (default, the reference) one ground-truth class per image, 'all'
    every ground-truth class of every image (one background pass per pair;
    ``pick_classes``).
    """

    map_kinds = ('bas', 'cam', 'fused')
    default_map_kind = 'bas'
    title = 'BAS'
    DEFAULT_WEIGHTS = {'mcls': 1.0, 'frg': 0.2, 'bas': 1.0, 'area': 1.2}

    def __init__(self, backbone, num_classes, cls_loss='multilabel_softmax', loss_weights=None,
                 frg_detach=True, background_dtype='float32', background_norm='pooled',
                 generator_bias=False, class_choice='random', data_preprocessor=None,
                 init_cfg=None):
        super().__init__(backbone, num_classes, cls_loss=cls_loss,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.frg_detach = frg_detach
        self.background_dtype = check_background_dtype(background_dtype)
        if background_norm not in BACKGROUND_NORMS:
            raise ValueError(f'background_norm must be one of {BACKGROUND_NORMS}, '
                             f'got {background_norm!r}')
        self.background_norm = background_norm
        if class_choice not in CLASS_CHOICES:
            raise ValueError(f'class_choice must be one of {CLASS_CHOICES}, got {class_choice!r}')
        self.class_choice = class_choice
        unknown = set(loss_weights or {}) - set(self.DEFAULT_WEIGHTS)
        if unknown:
            raise KeyError(f'unknown BAS loss weights {sorted(unknown)}; '
                           f'known: {sorted(self.DEFAULT_WEIGHTS)}')
        self.loss_weights = {**self.DEFAULT_WEIGHTS, **(loss_weights or {})}
        # The generator: one sigmoid foreground map per class.
        self.classifier_loc = nn.Sequential(
            nn.Conv2d(self.backbone.tap_channels, num_classes, 3, padding=1,
                      bias=generator_bias),
            nn.Sigmoid())
        nn.init.xavier_uniform_(self.classifier_loc[0].weight)
        if generator_bias:
            nn.init.zeros_(self.classifier_loc[0].bias)

    def classify_features(self, tap_features):
        """F = classifier(later(tap)): the part the background branch re-runs."""
        return self.classifier(self.backbone.later(tap_features))

    def background_class_maps(self, tap_features, foreground_map, image_index=None):
        """F_bg from the background only, in ``background_dtype`` precision.

        ``foreground_map`` row i erases image ``image_index[i]`` (default: row i
        erases image i); with class_choice='all' an image recurs once per class."""
        clean = tap_features.detach()
        erased = (clean if image_index is None else clean[image_index]) * (1.0 - foreground_map)
        with background_precision(self.background_dtype, erased.device):
            if self.background_norm != 'pooled':
                return self.frozen_class_maps(erased, self.background_norm).float()
            # One batch-statistics pass over both halves: each BatchNorm layer
            # normalises the erased features with the statistics of clean and
            # erased together; only the erased half is used.
            pooled = self.frozen_class_maps(torch.cat([clean, erased]), 'batch')
            return pooled[clean.shape[0]:].float()

    def frozen_class_maps(self, inputs, norm):
        """classifier(later(inputs)) through the frozen later stage."""
        return run_frozen(self.classifier, run_frozen(self.backbone.later, inputs, norm), norm)

    def loss(self, images, labels):
        tap_features = self.backbone.tap(images)
        class_maps = self.classify_features(tap_features)
        return self.bas_losses(tap_features, class_maps, labels)

    def bas_losses(self, tap_features, class_maps, labels, classification_logits=None):
        """The four weighted BAS losses from the tap features and F.

        ``class_maps`` (F) gives S = GAP(F)[p] of L_bas and the F of L_frg;
        ``classification_logits`` (default GAP(F)) are scored by L_mcls.
        BAS+ICL passes the logits of its dropped pass there, and the F of an
        undropped one, the pass the background branch repeats."""
        logits = class_maps.mean(dim=(2, 3))
        if classification_logits is None:
            classification_logits = logits
        foreground_maps = self.classifier_loc(tap_features)

        # (image, class) pairs: one per image ('random') or one per positive ('all')
        image_index, picked = pick_classes(labels, self.class_choice)
        pair = torch.arange(len(picked), device=labels.device)
        foreground_map = foreground_maps[image_index, picked].unsqueeze(1)  # M_fg (P, 1, h, w)

        background_logits = self.background_class_maps(
            tap_features, foreground_map, image_index).mean(dim=(2, 3))
        # M_fg at F's resolution (equal for all built-in backbones).
        guide = foreground_map if foreground_map.shape[-2:] == class_maps.shape[-2:] \
            else F.adaptive_avg_pool2d(foreground_map, class_maps.shape[-2:])
        guided_logits = ((class_maps.detach() if self.frg_detach else class_maps)[image_index]
                         * guide).mean(dim=(2, 3))

        w = self.loss_weights
        cls_loss = CLASSIFICATION_LOSSES[self.cls_loss]
        return {
            'loss_mcls': w['mcls'] * cls_loss(classification_logits, labels),
            'loss_frg': w['frg'] * losses.foreground_guidance_loss(guided_logits, picked),
            'loss_bas': w['bas'] * losses.background_suppression_loss(
                logits[image_index, picked], background_logits[pair, picked]),
            'loss_area': w['area'] * losses.area_loss(foreground_map),
        }

    @torch.no_grad()
    def activation_maps(self, images):
        """dict(bas=(B, C, h, w) generator maps in [0, 1], cam=ReLU(F), logits)."""
        tap_features = self.backbone.tap(images)
        class_maps = self.classify_features(tap_features)
        return {'bas': self.classifier_loc(tap_features), 'cam': torch.relu(class_maps),
                'logits': class_maps.mean(dim=(2, 3))}


__all__ = ['BASClassifier', 'pick_one_class', 'run_frozen', 'as_label_tensor']
