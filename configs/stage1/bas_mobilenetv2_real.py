_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/real_photos.py', './_base_/models/bas.py']
# BAS as in the demo config (before the fix), on 320 px photographs.
optim_wrapper = dict(optimizer=dict(lr=0.001))
model = dict(backbone=dict(type='mobilenet_v2', output_stride=16), num_classes=20)
default_hooks = dict(logger=dict(interval=5))
