_base_ = ['./_base_/default_runtime.py', './_base_/schedules/cub.py',
          './_base_/datasets/cub.py', './_base_/models/icl.py']
# ICL on CUB, ResNet-50, with the CUB schedule of BAS (ICL's own is unknown).
model = dict(backbone=dict(type='resnet50'), num_classes=200)
# The ICL non-local blocks are new layers: 10x LR like the classifier.
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'classifier': dict(lr_mult=10.0),
                                                     'icl_': dict(lr_mult=10.0)}))
# Localization as CAM (ICL/ADL evaluate the class activation map), tau 0.2.
wsol = dict(map_kind='cam', map_classes='gt', fixed_threshold=0.2)
