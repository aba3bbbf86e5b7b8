_base_ = ['./_base_/default_runtime.py', './_base_/schedule_demo.py', './_base_/demo.py']
# BAS on the demo data with the offline ImageNet MobileNetV2 (output stride 8:
# the tap after block 13 feeds the generator; blocks 14-18 are the later stage).
model = dict(
    type='BASClassifier',
    backbone=dict(type='mobilenet_v2', pretrained=True, output_stride=8),
    num_classes={{_base_.num_classes}},
    cls_loss='multilabel_softmax',
    loss_weights=dict(mcls=1.0, frg=0.2, bas=1.0, area=1.2),
    data_preprocessor={{_base_.data_preprocessor}})
default_hooks = dict(logger=dict(interval=5))
