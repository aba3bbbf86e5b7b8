"""ICL (Ki et al., ACCV 2020) masks and losses, this project's interpretation.

Only the ideas are from the ICL abstract (see docs/icl.md): the paper's
equations were not available, so every formula below is a documented choice.

Notation: ``A`` a (B, 1, h, w) attention map, non-negative (the models pass
it min-max normalised to [0, 1]); ``m = max_{h,w} A`` per image; thresholds
are relative to ``m`` as in ADL:

* discriminative region  D = {A >= gamma * m}  (dropped by the drop layer)
* foreground             P = {A >= beta * m}
* kept ("dropped version" of the foreground)  K = {beta * m <= A < gamma * m} = P \\ D
* background             N = {A < beta * m}    (also dropped by the drop layer)

with ``0 <= beta < gamma <= 1``.
"""
import torch
import torch.nn.functional as F


def check_thresholds(gamma, beta):
    if not 0.0 <= beta < gamma <= 1.0:
        raise ValueError(f'ICL thresholds need 0 <= beta < gamma <= 1, got beta={beta}, '
                         f'gamma={gamma}')


def normalize_attention(attention, rel_eps=1e-6):
    """Per-image min-max normalisation of (B, 1, h, w) maps to [0, 1].

    A flat map (max - min <= rel_eps * max(|max|, |min|), relative so that
    tiny-magnitude features still count) becomes all zeros: it carries no
    location.
    """
    flat = attention.flatten(1)
    low = flat.min(dim=1).values.view(-1, 1, 1, 1)
    high = flat.max(dim=1).values.view(-1, 1, 1, 1)
    span = high - low
    informative = span > rel_eps * torch.maximum(high.abs(), low.abs())
    normalised = (attention - low) / torch.where(informative, span, torch.ones_like(span))
    return torch.where(informative, normalised, torch.zeros_like(normalised))


def region_masks(attention, gamma, beta):
    """Boolean (B, 1, h, w) masks ``discriminative``, ``foreground``, ``kept`` and
    ``background`` of the module docstring, thresholds relative to each image's
    maximum. Computed without gradient (hard thresholds)."""
    check_thresholds(gamma, beta)
    attention = attention.detach()
    peak = attention.flatten(1).max(dim=1).values.view(-1, 1, 1, 1)
    discriminative = attention >= gamma * peak
    foreground = attention >= beta * peak
    return {'discriminative': discriminative, 'foreground': foreground,
            'kept': foreground & ~discriminative, 'background': ~foreground}


def masked_average(features, mask):
    """(B, C) average of (B, C, h, w) ``features`` over the pixels where the
    (B, 1, h, w) ``mask`` is true, and the (B,) pixel counts (0 -> zero vector)."""
    mask = mask.to(features.dtype)
    count = mask.sum(dim=(2, 3))  # (B, 1)
    total = (features * mask).sum(dim=(2, 3))
    return total / count.clamp(min=1.0), count.squeeze(1)


def cosine_distance(a, b, eps=1e-8):
    """1 - cos(a, b) per row, in [0, 2]."""
    return 1.0 - F.cosine_similarity(a, b, dim=1, eps=eps)


def contrastive_attention_loss(features, attention, gamma=0.9, beta=0.1, margin=0.5):
    """L_ca: pull the dropped version toward the foreground, push it from the background.

    f = avg(features over P), d = avg(features over K), b = avg(features over N);
    L_ca = mean_i max(0, margin + (1 - cos(d_i, f_i)) - (1 - cos(d_i, b_i)))

    Triplet with anchor d, positive f, negative b and cosine distance: bounded
    and blind to feature scale, so it cannot be met by shrinking or inflating
    feature norms (a Euclidean triplet could). The masks come from the detached
    attention (no gradient through the thresholds); the features carry the
    gradient. Images where P, K or N is empty are left out; with none left the
    loss is 0 (still attached to the graph).
    """
    masks = region_masks(attention, gamma, beta)
    foreground, n_fg = masked_average(features, masks['foreground'])
    dropped, n_kept = masked_average(features, masks['kept'])
    background, n_bg = masked_average(features, masks['background'])
    per_image = F.relu(margin + cosine_distance(dropped, foreground)
                       - cosine_distance(dropped, background))
    valid = ((n_fg > 0) & (n_kept > 0) & (n_bg > 0)).to(per_image.dtype)
    return (per_image * valid).sum() / valid.sum().clamp(min=1.0)


def foreground_consistency_loss(early_attention, last_attention):
    """L_fc = mean |A_early - stop_grad(norm(resize(A_last)))|  (L1).

    ``last_attention`` is bilinearly resized to the early map's resolution when
    they differ, min-max normalised again and detached: the later layer is the
    reference, only the early attention learns. Both inputs are expected
    min-max normalised (B, 1, h, w) maps.
    """
    reference = last_attention.detach()
    if reference.shape[-2:] != early_attention.shape[-2:]:
        reference = normalize_attention(F.interpolate(
            reference, size=early_attention.shape[-2:], mode='bilinear', align_corners=False))
    return (early_attention - reference).abs().mean()
