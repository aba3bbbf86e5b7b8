_base_ = ['./_base_/default_runtime.py', './_base_/schedules/cam_wsss.py',
          './_base_/datasets/voc_irn_aug.py', './_base_/models/cam.py']
# IRN-style CAM baseline, same backbone layout as BAS.
model = dict(backbone=dict(type='resnet50'), num_classes=20)
