# DeepLabV2-ResNet-101 on VOC 2012 pseudo-labels (train_aug), evaluated on val:
# the stage-2 model of the IRN family (IRN, AdvCAM, ReCAM, AMN, CLIP-ES).
#   python3 tools/train_seg.py configs/stage2/deeplabv2_r101_voc.py --pseudo-labels OUT
#   python3 tools/test_seg.py configs/stage2/deeplabv2_r101_voc.py CKPT --ms --flip --crf
_base_ = ['./_base_/default_runtime.py', './_base_/schedules/wsss_voc_20k.py',
          './_base_/datasets/voc.py', './_base_/models/deeplabv2_r101.py']
model = dict(decode_head=dict(num_classes=21))
# The ASPP biases learn 20x faster without weight decay (deeplab-pytorch's "20x" group).
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'decode_head.aspp.0.bias': dict(lr_mult=20.0, decay_mult=0.0),
    'decode_head.aspp.1.bias': dict(lr_mult=20.0, decay_mult=0.0),
    'decode_head.aspp.2.bias': dict(lr_mult=20.0, decay_mult=0.0),
    'decode_head.aspp.3.bias': dict(lr_mult=20.0, decay_mult=0.0)}))
