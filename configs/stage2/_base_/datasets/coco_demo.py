# The COCO-format demo (tools/prepare_coco_demo.py --out data/coco_demo, then
# tools/prepare_coco.py --coco-root data/coco_demo --out data/coco_demo_wsss
# --gt-splits train2014 val2014) as COCO-object (background + 80 classes, 6 of
# them drawn): the COCO dataset wiring at demo size, on a CPU.
_base_ = ['./tta.py']  # the test-time scales and mmseg tta_pipeline, shared
dataset_type = 'COCOObjectLabelDirDataset'
data_root = 'data/coco_demo'
prepared_root = data_root + '_wsss'
pseudo_label_dir = 'work_dirs/pseudo_labels/coco_demo'
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
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        img_dir=data_root + '/train2014',
        ann_dir=pseudo_label_dir + '/labels',
        split=prepared_root + '/train2014.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        img_dir=data_root + '/val2014',
        ann_dir=prepared_root + '/SegmentationClass/val2014',
        split=prepared_root + '/val2014.txt',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
