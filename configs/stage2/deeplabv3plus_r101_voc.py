# DeepLabV3+-ResNet-101 (mmseg's head, torchvision ResNet-101, output stride 8)
# on VOC 2012 pseudo-labels with the same WSSS schedule as DeepLabV2
# (batch 10, 20k iterations, lr 2.5e-4 poly, new heads 10x, crop 321).
_base_ = ['./_base_/default_runtime.py', './_base_/schedules/wsss_voc_20k.py',
          './_base_/datasets/voc.py', './_base_/models/deeplabv3plus_r101.py']
model = dict(decode_head=dict(num_classes=21), auxiliary_head=dict(num_classes=21))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'auxiliary_head': dict(lr_mult=10.0)}))
