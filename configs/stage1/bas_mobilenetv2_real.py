_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/real_photos.py', './_base_/models/bas.py']
# BAS with MobileNetV2 on photographs of about 320 px (the real-photo benchmark; the
# template for your own VOC-layout data). The same BAS settings as the demo config
# (bas_mobilenetv2_demo.py): L_mcls at lr 0.001 (10x on the new layers), background
# branch with running BatchNorm statistics (models/bas.py); output stride 16 for
# 320 px images.
model = dict(backbone=dict(type='mobilenet_v2', output_stride=16), num_classes=20,
             background_dtype='auto')
optim_wrapper = dict(optimizer=dict(lr=0.001))
default_hooks = dict(logger=dict(interval=5))
