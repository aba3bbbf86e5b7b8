_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/demo_boxes.py', './_base_/models/bas.py']
# BAS on the demo boxes set (CPU), same backbone and schedule as the CAM
# config but the LR; MobileNet's CUB weights (alpha 0.5, beta 1.9).
model = dict(backbone=dict(type='mobilenet_v2', output_stride=8), num_classes=6,
             loss_weights=dict(frg=0.5, area=1.9))
# lr 0.001 (10x below CAM's), as the stage-1 BAS demo: at CAM's 0.01 the
# generator collapsed onto the heads or to ~0 (MaxBoxAccV2 18.0 on the demo
# test split, docs/wsol.md), at 0.001 it did not (62.0).
optim_wrapper = dict(optimizer=dict(lr=0.001))
# Localization: the mean of all 6 classes' generator maps (top-k = C, as
# ResNet-50 on CUB: k = 200), tau 0.1 (CUB).
wsol = dict(map_kind='bas', map_classes='topk', topk=6, fixed_threshold=0.1)
default_hooks = dict(logger=dict(interval=5))
