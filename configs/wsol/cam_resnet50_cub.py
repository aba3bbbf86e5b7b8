_base_ = ['./_base_/default_runtime.py', './_base_/schedules/cub.py',
          './_base_/datasets/cub.py', './_base_/models/cam.py']
# CAM baseline on CUB, ResNet-50 (stage-1 layout: layer4 stride 1, output stride 16).
model = dict(backbone=dict(type='resnet50'), num_classes=200)
# Localization: the GT class's CAM; classic metrics at tau = 0.2 (ADL's default
# CAM threshold; wsolevaluation sweeps tau for MaxBoxAccV2).
wsol = dict(map_kind='cam', map_classes='gt', fixed_threshold=0.2)
