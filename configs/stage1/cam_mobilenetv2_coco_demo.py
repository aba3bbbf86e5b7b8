_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/coco_demo.py', './_base_/models/cam.py']
# CAM on the COCO-format demo: the COCO wiring (80 classes, prepared folder) on a CPU.
model = dict(backbone=dict(type='mobilenet_v2', output_stride=8), num_classes=80)
default_hooks = dict(logger=dict(interval=5))
