_base_ = ['../pseudo_label.py']
# Plain CAM baseline (IRN resnet50_cam): 1x1 conv classifier, GAP, soft-margin loss.
model = dict(
    type='CAMClassifier',
    backbone=dict(type='resnet50', pretrained=True),
    num_classes=20,
    cls_loss='multilabel_soft_margin',
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375]))
pseudo_label = dict(map_kind='cam')
