# PASCAL VOC 2012: train on stage 1's pseudo-labels for train_aug (10,582
# images), evaluate on the official val GT (1,449 images).
#
#   pseudo-labels: tools/make_pseudo_labels.py ... --out-dir <pseudo_label_dir>
#                  (or tools/train_seg.py CONFIG --pseudo-labels DIR)
#   train_aug.txt: IRN's list, in ImageSets/Segmentation/ (as for stage 1)
#
# Augmentation of the WSSS DeepLab recipe (deeplab-pytorch, configs/voc12.yaml
# SCALES): rescale the image by one of 0.5/0.75/1.0/1.25/1.5 (drawn uniformly;
# mmcv's RandomChoice over Resize), random 321x321 crop (padded with the mean
# colour / ignore when smaller, by the data preprocessor), horizontal flip.
# (Before 2026-12 the configs drew a continuous factor in [0.5, 2.0]
# (stage2_seg's RandomRescale, still registered); the real-photo config keeps it.)
# Evaluation on the whole image at its original size.
_base_ = ['./tta.py']  # the test-time scales and mmseg tta_pipeline, shared
dataset_type = 'LabelDirDataset'
data_root = 'data/VOCdevkit/VOC2012'
pseudo_label_dir = 'work_dirs/pseudo_labels/voc_train_aug'
crop_size = (321, 321)
rescale_factors = (0.5, 0.75, 1.0, 1.25, 1.5)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # deeplab-pytorch: the original image rescaled by one of these factors
    dict(type='RandomChoice', transforms=[
        [dict(type='Resize', scale_factor=f, keep_ratio=True)] for f in rescale_factors]),
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
