_base_ = ['./_base_/default_runtime.py', './_base_/schedule_bas_wsss.py', './_base_/voc_bas.py']
# BAS-Extension WSSS: ResNet-50 (output stride 16, layer3 feeds the generator),
# L = L_mcls + 0.2 L_frg + L_bas + 1.2 L_ac.
model = dict(
    type='BASClassifier',
    backbone=dict(type='resnet50', pretrained=True),  # or a path to resnet50-*.pth
    num_classes={{_base_.num_classes}},
    cls_loss='multilabel_softmax',
    loss_weights=dict(mcls=1.0, frg=0.2, bas=1.0, area=1.2),
    data_preprocessor={{_base_.data_preprocessor}})
