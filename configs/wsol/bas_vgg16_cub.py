_base_ = ['./_base_/default_runtime.py', './_base_/schedules/cub.py',
          './_base_/datasets/cub.py', './_base_/models/bas.py']
# BAS on CUB, VGG16 (tap relu4_3, conv5 dilated, output stride 8):
# alpha 0 (no L_frg), beta 0.9.
model = dict(backbone=dict(type='vgg16'), num_classes=200,
             loss_weights=dict(frg=0.0, area=0.9))
# Localization: mean of the top-80 classes' generator maps, tau 0.1.
wsol = dict(map_kind='bas', map_classes='topk', topk=80, fixed_threshold=0.1)
