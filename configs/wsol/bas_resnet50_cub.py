_base_ = ['./_base_/default_runtime.py', './_base_/schedules/cub.py',
          './_base_/datasets/cub.py', './_base_/models/bas.py']
# BAS on CUB, ResNet-50: alpha (L_frg) 0.5, beta (L_ac) 1.5 (BAS-Extension
# hyperparameters.py after 2023-05-11).
model = dict(backbone=dict(type='resnet50'), num_classes=200,
             loss_weights=dict(frg=0.5, area=1.5))
# Localization: mean of the top-200 (= all) classes' generator maps, tau 0.1.
wsol = dict(map_kind='bas', map_classes='topk', topk=200, fixed_threshold=0.1)
