_base_ = ['./_base_/default_runtime.py', './_base_/schedules/cam_wsss.py',
          './_base_/datasets/voc_irn_aug.py', './_base_/models/icl.py',
          './_base_/distributed.py']
# ICL on the IRN-style CAM recipe (same schedule, data and backbone settings as
# cam_resnet50_voc): BatchNorm at its ImageNet statistics, stem + layer1 + layer2
# frozen, as IRN's CAM network (see cam_resnet50_voc.py).
model = dict(backbone=dict(type='resnet50', norm_eval=True, frozen_stages=2), num_classes=20)
# The ICL non-local blocks are residual blocks inside the feature path (their output
# is added to the ImageNet features), not a head on top of it like the classifier:
# they train at the backbone's LR (lr_mult 1, i.e. 0.1), as Wang et al. fine-tune
# the non-local blocks they insert into an ImageNet ResNet. The classifier's 10x
# (1.0 with no momentum) is kept for the 1x1 classifier only. Loss weights stay
# 1/1/1 (the demo's, where ICL was measured). Neither is measured on VOC: docs/icl.md.
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'icl_': dict(lr_mult=1.0)}))
