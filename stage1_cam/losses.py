"""Stage-1 losses, each a small function with its formula.

Notation (BAS-Extension, WSSS version): ``s`` image logits (B, C); ``y``
multi-hot labels (B, C); ``p`` the class picked per image; ``S = s[p]`` the
picked class's logit; ``S_bg`` its logit when only the background features
(tap x (1 - M_fg)) are seen; ``M_fg`` the generator's map of class ``p``.
"""
import torch
import torch.nn.functional as F


def multilabel_softmax_loss(logits, labels):
    """L_mcls: each positive class against all negatives of its image.

    L = (1/B) sum_i sum_{c in P_i} -log( e^{s_c} / (e^{s_c} + sum_{n in N_i} e^{s_n}) )

    An image whose classes are all positive contributes 0.
    """
    labels = labels.bool()
    negative_logits = logits.masked_fill(labels, float('-inf'))
    negative_lse = torch.logsumexp(negative_logits, dim=1, keepdim=True)  # -inf if none
    per_class = torch.logaddexp(logits, negative_lse) - logits  # -log softmax vs negatives
    per_class = per_class.masked_fill(~labels, 0.0)
    return per_class.sum(dim=1).mean()


def multilabel_soft_margin_loss(logits, labels):
    """IRN's CAM loss: mean over classes of the binary logistic loss."""
    return F.multilabel_soft_margin_loss(logits, labels.float())


def single_label_cross_entropy(logits, labels):
    """Softmax CE for single-label images (WSOL: CUB, ImageNet).

    L = (1/B) sum_i -log softmax(s_i)[y_i], y_i the one positive of the
    one-hot ``labels`` row; a row with zero or several positives is an error.
    """
    positives = labels.sum(dim=1)
    if not bool((positives == 1).all()):
        raise ValueError('cls_loss="softmax_ce" needs exactly one class per image; got images '
                         f'with {sorted(set(int(n) for n in positives.tolist()))} classes. Use a '
                         'single-label dataset, or a multi-label cls_loss.')
    return F.cross_entropy(logits, labels.argmax(dim=1))


def foreground_guidance_loss(guided_logits, picked):
    """L_frg = CE(GAP(F.detach() * M_fg), p): the generator's map must keep the
    picked class recognisable (F is detached: only the generator learns)."""
    return F.cross_entropy(guided_logits, picked)


def background_suppression_loss(picked_logit, background_logit, eps=1e-8):
    """L_bas = mean_i ReLU(S_bg,i) / (ReLU(stop_grad S_i) + eps).

    Where ReLU(S_bg) > ReLU(S) the sample contributes the constant 1 with no
    gradient (the reference's guard, for stability early in training).
    """
    foreground = F.relu(picked_logit.detach())
    background = F.relu(background_logit)
    ratio = background / (foreground + eps)
    guarded = torch.where(background > foreground, torch.ones_like(ratio), ratio)
    return guarded.mean()


def area_loss(foreground_map):
    """L_ac = mean over images and pixels of M_fg: keeps the map from covering everything."""
    return foreground_map.mean()
