_base_ = ['./_base_/default_runtime.py', './_base_/schedules/cam_wsss.py',
          './_base_/datasets/voc_irn_aug.py', './_base_/models/icl.py']
# ICL on the IRN-style CAM recipe (same schedule and data as cam_resnet50_voc).
model = dict(backbone=dict(type='resnet50'), num_classes=20)
# The ICL non-local blocks are new layers: 10x LR like the classifier.
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'icl_': dict(lr_mult=10.0)}))
