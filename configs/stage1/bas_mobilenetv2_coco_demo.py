_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/coco_demo.py', './_base_/models/bas.py']
# BAS on the COCO-format demo (80 classes); LR as bas_mobilenetv2_demo.py.
# background_dtype='auto': see bas_mobilenetv2_demo.py.
model = dict(backbone=dict(type='mobilenet_v2', output_stride=8), num_classes=80,
             background_dtype='auto')
optim_wrapper = dict(optimizer=dict(lr=0.001))
default_hooks = dict(logger=dict(interval=5))
