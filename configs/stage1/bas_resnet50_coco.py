_base_ = ['./_base_/default_runtime.py', './_base_/schedule_bas_wsss.py', './_base_/coco.py']
# BAS-Extension WSSS recipe on COCO (the reference publishes no COCO recipe);
# ResNet-50, L = L_mcls + 0.2 L_frg + L_bas + 1.2 L_ac, 80 classes.
model = dict(
    type='BASClassifier',
    backbone=dict(type='resnet50', pretrained=True),  # or a path to resnet50-*.pth
    num_classes={{_base_.num_classes}},
    cls_loss='multilabel_softmax',
    loss_weights=dict(mcls=1.0, frg=0.2, bas=1.0, area=1.2),
    data_preprocessor={{_base_.data_preprocessor}})
