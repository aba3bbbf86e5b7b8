_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/demo.py', './_base_/models/cam.py']
# Plain CAM baseline on the demo data, same backbone and schedule as BAS.
model = dict(backbone=dict(type='mobilenet_v2', output_stride=8), num_classes=6)
default_hooks = dict(logger=dict(interval=5))
