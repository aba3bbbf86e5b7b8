# The generated demo dataset (tools/prepare_demo_data.py --out data/demo):
# 128x128 images, background + 6 classes. Train on stage 1's demo
# pseudo-labels (train split), evaluate on the demo val GT.
_base_ = ['./tta.py']  # the test-time scales and mmseg tta_pipeline, shared
dataset_type = 'DemoLabelDirDataset'
data_root = 'data/demo'
pseudo_label_dir = 'work_dirs/pseudo_labels/demo'
crop_size = (128, 128)
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
    batch_size=8,
    num_workers=0,   # decoding 128x128 images is cheap; workers only compete for 2 cores
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        img_dir=data_root + '/JPEGImages',
        ann_dir=pseudo_label_dir + '/labels',
        split=data_root + '/ImageSets/Segmentation/train.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
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
