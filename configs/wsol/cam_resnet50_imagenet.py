_base_ = ['./_base_/default_runtime.py', './_base_/schedules/imagenet.py',
          './_base_/datasets/imagenet.py', './_base_/models/cam.py']
# CAM baseline on ImageNet-1k, ResNet-50.
model = dict(backbone=dict(type='resnet50'), num_classes=1000)
wsol = dict(map_kind='cam', map_classes='gt', fixed_threshold=0.2)
