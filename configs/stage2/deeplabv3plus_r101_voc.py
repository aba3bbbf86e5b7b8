# DeepLabV3+-ResNet-101 (mmseg's head, torchvision ResNet-101, output stride 8)
# on VOC 2012 pseudo-labels with mmseg's own DeepLabV3+ VOC recipe
# (deeplabv3plus_r101-d8_4xb4-20k_voc12aug-512x512: 77.22 / 78.59 ms+flip val
# mIoU with full supervision in mmseg's model zoo): batch 16 (4 GPUs x 4 there;
# on N GPUs use 16 / N), 512x512 crops, SGD lr 0.01 poly to 1e-4, 20k
# iterations, BatchNorm trained, ASPP rates 12/24/36 on the 64x64 maps of a
# 512 crop. Not DeepLabV2's WSSS schedule (lr 2.5e-4, 321 crops: 41x41 maps on
# which rate 36 reaches past the map): that recipe was never measured for V3+.
_base_ = ['./_base_/default_runtime.py', './_base_/schedules/mmseg_20k.py',
          './_base_/datasets/voc.py', './_base_/models/deeplabv3plus_r101.py']
# mmseg's training augmentation of its V3+ recipes (pascal_voc12_aug.py /
# coco-stuff164k.py): resize by a random ratio in [0.5, 2.0] of a 2048x512
# target (about 512 px on the short side times the ratio), a 512x512 crop in
# which no class covers more than 75%, flip, photometric distortion. Evaluation
# stays on the whole image at its original size (as WSSS papers report), not
# at mmseg's 512-px resize.
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
model = dict(data_preprocessor=dict(size=crop_size),
             decode_head=dict(num_classes=21), auxiliary_head=dict(num_classes=21))
