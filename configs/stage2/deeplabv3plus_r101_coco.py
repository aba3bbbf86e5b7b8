# DeepLabV3+-ResNet-101 on COCO 2014 pseudo-labels (81 classes), 100k iterations.
_base_ = ['./_base_/default_runtime.py', './_base_/schedules/wsss_coco_100k.py',
          './_base_/datasets/coco.py', './_base_/models/deeplabv3plus_r101.py']
model = dict(decode_head=dict(num_classes=81), auxiliary_head=dict(num_classes=81))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'auxiliary_head': dict(lr_mult=10.0)}))
default_hooks = dict(checkpoint=dict(interval=10000))
