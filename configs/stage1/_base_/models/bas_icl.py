_base_ = ['../pseudo_label.py']
# BAS + ICL (docs/icl.md): BAS's generator and losses on top of the ICL
# attention/drop network. L = L_mcls + 0.2 L_frg + L_bas + 1.2 L_ac
# + 1.0 L_ca + 1.0 L_fc. The background branch, and the S and F of the BAS losses,
# run with the drops off (one undropped pass; docs/icl.md).
# Top-level configs set the backbone and num_classes.
model = dict(
    type='BASICLClassifier',
    backbone=dict(type='resnet50', pretrained=True),  # or a path to a torchvision .pth
    num_classes=20,
    cls_loss='multilabel_softmax',
    loss_weights=dict(mcls=1.0, frg=0.2, bas=1.0, area=1.2, ca=1.0, fc=1.0),
    background_norm='pooled',  # as models/bas.py
    attention=dict(reduction=2, subsample=True),
    drop=dict(drop_rate=0.75, gamma=0.9, beta=0.1, per_sample=False, importance='sigmoid'),
    contrastive=dict(margin=0.5, points=['tap', 'last']),
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375]))
# Pseudo-labels from fused maps, norm(norm(generator) + norm(CAM)), and 'auto'
# confident-region thresholds, as models/bas.py (the official make_cam.py fusion).
# Measured on the real-photo benchmark (README, "Results on real photographs").
pseudo_label = dict(map_kind='fused', refine=dict(fg_threshold='auto', bg_threshold='auto'))
