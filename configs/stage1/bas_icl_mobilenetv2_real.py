_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/real_photos.py', './_base_/models/bas_icl.py']
# BAS + ICL with MobileNetV2 on ~320 px photographs: the demo config's settings
# (bas_icl_mobilenetv2_demo.py), output stride 16.
model = dict(backbone=dict(type='mobilenet_v2', output_stride=16), num_classes=20)
optim_wrapper = dict(optimizer=dict(lr=0.001),
                     paramwise_cfg=dict(custom_keys={'icl_': dict(lr_mult=10.0)}))
default_hooks = dict(logger=dict(interval=5))
