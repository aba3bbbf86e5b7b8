_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/real_photos.py', './_base_/models/cam.py']
# Plain CAM with MobileNetV2 on ~320 px photographs: the demo config's settings, output stride 16.
model = dict(backbone=dict(type='mobilenet_v2', output_stride=16), num_classes=20)
default_hooks = dict(logger=dict(interval=5))
