_base_ = ['./_base_/default_runtime.py', './_base_/schedule_cam_wsss.py', './_base_/coco.py']
# IRN-style CAM baseline on COCO, ResNet-50 (80 classes).
model = dict(
    type='CAMClassifier',
    backbone=dict(type='resnet50', pretrained=True),
    num_classes={{_base_.num_classes}},
    cls_loss='multilabel_soft_margin',
    data_preprocessor={{_base_.data_preprocessor}})
