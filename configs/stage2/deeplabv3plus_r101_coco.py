# DeepLabV3+-ResNet-101 on COCO 2014 pseudo-labels (81 classes) with mmseg's
# DeepLabV3+ recipe (batch 16, 512 crops, lr 0.01 poly, BatchNorm trained) and
# mmseg's COCO schedule of 80k iterations (mmseg has no V3+ COCO-object
# recipe; its COCO-Stuff-164k DeepLabV3 recipe trains 80k at batch 16).
_base_ = ['./_base_/default_runtime.py', './_base_/schedules/mmseg_80k.py',
          './_base_/datasets/coco.py', './_base_/models/deeplabv3plus_r101.py']
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
             decode_head=dict(num_classes=81), auxiliary_head=dict(num_classes=81))
default_hooks = dict(checkpoint=dict(interval=10000))
