_base_ = ['./_base_/default_runtime.py', './_base_/schedules/cam_wsss.py',
          './_base_/datasets/coco.py', './_base_/models/cam.py']
# IRN-style CAM baseline on COCO.
model = dict(backbone=dict(type='resnet50'), num_classes=80)
