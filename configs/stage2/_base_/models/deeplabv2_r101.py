# DeepLabV2 (ASPP-L) on ResNet-101, as WSSS papers train it (deeplab-pytorch):
# torchvision-layout ResNet-101 (7x7 stem; mmseg's ResNet, not ResNetV1c),
# layer3/layer4 dilated 2/4 in every block (output stride 8), BatchNorm frozen
# at its ImageNet statistics (batch 10 is too small to train it), and the
# ASPP-v2 head: four 3x3 convolutions dilated 6/12/18/24 to class scores, summed.
#
# ImageNet weights: torchvision's resnet101 file. checkpoint=None looks for
# $TORCH_HOME/hub/checkpoints/resnet101-*.pth; or set the path, e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=/path/resnet101-63fe2227.pth
# (COCO-pretrained DeepLabV2 inits, used by some papers, add ~2-3 mIoU on VOC.)
norm_cfg = dict(type='BN', requires_grad=False)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],   # torchvision ImageNet statistics (RGB, 0-255)
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,                        # after normalisation: pads with the mean colour
    seg_pad_val=255,
    size=(321, 321))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=101,
        num_stages=4,
        out_indices=(3, ),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        contract_dilation=False,
        style='pytorch',
        norm_cfg=norm_cfg,
        norm_eval=True,
        init_cfg=dict(type='TorchvisionPretrained', arch='resnet101', checkpoint=None)),
    decode_head=dict(
        type='ASPPV2Head',
        in_channels=2048,
        in_index=0,
        dilations=(6, 12, 18, 24),
        num_classes=21,
        dropout_ratio=0.0,
        align_corners=False,
        # mean over labelled pixels (PyTorch's default, deeplab-pytorch): pseudo-
        # labels leave many pixels at 255, which mmseg's default would count.
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
                         avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
