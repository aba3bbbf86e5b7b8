_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/demo_boxes.py', './_base_/models/cam.py']
# CAM on the demo boxes set (CPU): MobileNetV2 with the offline ImageNet
# weights, output stride 8 (16x16 maps at 128 px).
model = dict(backbone=dict(type='mobilenet_v2', output_stride=8), num_classes=6)
wsol = dict(map_kind='cam', map_classes='gt', fixed_threshold=0.2)
default_hooks = dict(logger=dict(interval=5))
