_base_ = ['./_base_/default_runtime.py', './_base_/schedules/cam_wsss.py',
          './_base_/datasets/voc_irn_aug.py', './_base_/models/cam.py',
          './_base_/distributed.py']
# IRN-style CAM baseline, same backbone layout as BAS. IRN's CAM network keeps
# BatchNorm at its ImageNet statistics (FixedBatchNorm) and trains only layer3,
# layer4 and the classifier (conv1/bn1 without gradient, a .detach() after
# layer2): norm_eval + frozen_stages=2 (stage1_cam/models/backbones.py).
model = dict(backbone=dict(type='resnet50', norm_eval=True, frozen_stages=2), num_classes=20)
