_base_ = ['./_base_/default_runtime.py', './_base_/schedules/bas_wsss.py',
          './_base_/datasets/voc.py', './_base_/models/bas_icl.py',
          './_base_/distributed.py']
# BAS + ICL on the BAS-Extension WSSS recipe (same schedule and data as bas_resnet50_voc).
model = dict(backbone=dict(type='resnet50'), num_classes=20)
# The ICL non-local blocks train at the backbone's LR (lr_mult 1): residual blocks
# inside the feature path, not a head (see icl_resnet50_voc.py and docs/icl.md).
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'icl_': dict(lr_mult=1.0)}))
# 'auto' thresholds from the seed sweep on train (1,464 images with GT), as the papers score.
pseudo_label = dict(threshold_split='train')
