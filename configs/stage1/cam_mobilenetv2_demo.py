_base_ = ['./_base_/default_runtime.py', './_base_/schedule_demo.py', './_base_/demo.py']
# Plain CAM baseline on the demo data, same backbone and schedule as BAS.
model = dict(
    type='CAMClassifier',
    backbone=dict(type='mobilenet_v2', pretrained=True, output_stride=8),
    num_classes={{_base_.num_classes}},
    cls_loss='multilabel_soft_margin',
    data_preprocessor={{_base_.data_preprocessor}})
default_hooks = dict(logger=dict(interval=5))
