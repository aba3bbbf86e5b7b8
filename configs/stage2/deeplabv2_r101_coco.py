# DeepLabV2-ResNet-101 on COCO 2014 pseudo-labels (train2014), evaluated on
# val2014 (COCO-object: background + 80 classes), 100k iterations.
_base_ = ['./_base_/default_runtime.py', './_base_/schedules/wsss_coco_100k.py',
          './_base_/datasets/coco.py', './_base_/models/deeplabv2_r101.py']
model = dict(decode_head=dict(num_classes=81))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'decode_head.aspp.0.bias': dict(lr_mult=20.0, decay_mult=0.0),
    'decode_head.aspp.1.bias': dict(lr_mult=20.0, decay_mult=0.0),
    'decode_head.aspp.2.bias': dict(lr_mult=20.0, decay_mult=0.0),
    'decode_head.aspp.3.bias': dict(lr_mult=20.0, decay_mult=0.0)}))
default_hooks = dict(checkpoint=dict(interval=10000))
