# PASCAL VOC 2012: train on stage 1's pseudo-labels for train_aug (10,582
# images), evaluate on the official val GT (1,449 images).
#
#   pseudo-labels: tools/make_pseudo_labels.py ... --out-dir <pseudo_label_dir>
#                  (or tools/train_seg.py CONFIG --pseudo-labels DIR)
#   train_aug.txt: IRN's list, in ImageSets/Segmentation/ (as for stage 1)
#
# Augmentation of the WSSS DeepLab recipe (deeplab-pytorch): rescale the image
# by a random factor in [0.5, 2.0], random 321x321 crop (padded with the mean
# colour / ignore when smaller, by the data preprocessor), horizontal flip.
# Evaluation on the whole image at its original size.
dataset_type = 'LabelDirDataset'
data_root = 'data/VOCdevkit/VOC2012'
pseudo_label_dir = 'work_dirs/pseudo_labels/voc_train_aug'
crop_size = (321, 321)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomRescale', ratio_range=(0.5, 2.0)),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=10,   # one GPU; on N GPUs use 10 / N (the recipe's total is 10)
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        img_dir=data_root + '/JPEGImages',
        ann_dir=pseudo_label_dir + '/labels',
        split=data_root + '/ImageSets/Segmentation/train_aug.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        img_dir=data_root + '/JPEGImages',
        ann_dir=data_root + '/SegmentationClass',
        split=data_root + '/ImageSets/Segmentation/val.txt',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
