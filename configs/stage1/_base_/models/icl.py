_base_ = ['../pseudo_label.py']
# ICL (Ki et al., ACCV 2020), this project's interpretation (docs/icl.md):
# non-local attention + ADL-style drop (discriminative region and background)
# after backbone.tap and backbone.later; L = L_cls + 1.0 L_ca + 1.0 L_fc.
# Top-level configs set the backbone and num_classes (and give the icl_*
# modules the classifier's 10x LR in optim_wrapper.paramwise_cfg).
model = dict(
    type='ICLClassifier',
    backbone=dict(type='resnet50', pretrained=True),
    num_classes=20,
    cls_loss='multilabel_soft_margin',
    loss_weights=dict(cls=1.0, ca=1.0, fc=1.0),
    # Non-local block: embedded Gaussian, inter channels = C // reduction,
    # 2x2 max-pool on phi/g, zero-initialised BN on W (starts as identity).
    attention=dict(reduction=2, subsample=True),
    # Drop layer (both points): in training, with prob. drop_rate (one draw per
    # batch unless per_sample) zero A >= gamma*max and A < beta*max; otherwise
    # multiply by sigmoid(A) ('sigmoid') or nothing ('none'). Identity in eval.
    drop=dict(drop_rate=0.75, gamma=0.9, beta=0.1, per_sample=False, importance='sigmoid'),
    # L_ca = max(0, margin + (1 - cos(d, f)) - (1 - cos(d, b))), averaged over points.
    contrastive=dict(margin=0.5, points=['tap', 'last']),
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375]))
pseudo_label = dict(map_kind='cam')
