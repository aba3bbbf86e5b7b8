_base_ = ['./_base_/default_runtime.py', './_base_/schedules/imagenet.py',
          './_base_/datasets/imagenet.py', './_base_/models/bas.py']
# BAS on ImageNet-1k, ResNet-50: alpha 1, beta 2 (BAS-Extension ILSVRC).
model = dict(backbone=dict(type='resnet50'), num_classes=1000,
             loss_weights=dict(frg=1.0, area=2.0))
# Localization: top-k 1 = the GT class's generator map (the reference's
# topk == 1 case), tau 0.25.
wsol = dict(map_kind='bas', map_classes='gt', fixed_threshold=0.25)
