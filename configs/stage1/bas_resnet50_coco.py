_base_ = ['./_base_/default_runtime.py', './_base_/schedules/bas_wsss.py',
          './_base_/datasets/coco.py', './_base_/models/bas.py',
          './_base_/distributed.py']
# The BAS-Extension WSSS recipe on COCO (the reference publishes none for COCO).
model = dict(backbone=dict(type='resnet50'), num_classes=80)
