_base_ = ['./_base_/default_runtime.py', './_base_/schedules/cam_wsss.py',
          './_base_/datasets/coco.py', './_base_/models/cam.py',
          './_base_/distributed.py']
# IRN-style CAM baseline on COCO; backbone as cam_resnet50_voc.py (BatchNorm at its
# ImageNet statistics, stem + layer1 + layer2 frozen, as IRN's CAM network).
model = dict(backbone=dict(type='resnet50', norm_eval=True, frozen_stages=2), num_classes=80)
