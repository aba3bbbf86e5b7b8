_base_ = ['./_base_/default_runtime.py', './_base_/schedules/cub.py',
          './_base_/datasets/cub.py', './_base_/models/bas.py']
# BAS on CUB, MobileNetV2 (output stride 8: the generator's map is 28x28 at
# 224 px, as the reference's). The reference used MobileNetV1; its weights
# are used here: alpha 0.5, beta 1.9, top-80, tau 0.1.
model = dict(backbone=dict(type='mobilenet_v2', output_stride=8), num_classes=200,
             loss_weights=dict(frg=0.5, area=1.9))
wsol = dict(map_kind='bas', map_classes='topk', topk=80, fixed_threshold=0.1)
