# MS COCO 2014 as COCO-object (background + 80 classes): train on stage 1's
# pseudo-labels for train2014 (the 82,081 images with at least one annotation,
# the ones stage 1 labels), evaluate on the 40,137 annotated val2014 images
# with GT rendered by tools/prepare_coco.py as class-index PNGs (0 background,
# 1..80 in category-id order, 255 ignored: crowd regions by default), the
# format WSSS papers evaluate COCO in.
#   data_root:     the COCO download (train2014/, val2014/), read only;
#   prepared_root: tools/prepare_coco.py --coco-root data/coco --out data/coco_wsss
#                  (id lists <split>.txt, SegmentationClass/val2014/).
# --data-root DIR moves both (DIR and DIR_wsss). Augmentation as VOC.
# Validation during training scores a fixed subset, the first val_subset images
# of val2014.txt (file order of the COCO annotation file, not sorted by content):
# the full 40,137 images every 10k iterations would cost more GPU time than the
# training between. tools/test_seg.py (the pipeline's test_seg step) scores
# the full split: test_dataloader has no subset.
_base_ = ['./tta.py']  # the test-time scales and mmseg tta_pipeline, shared
dataset_type = 'COCOObjectLabelDirDataset'
data_root = 'data/coco'
prepared_root = data_root + '_wsss'
pseudo_label_dir = 'work_dirs/pseudo_labels/coco_train2014'
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
    batch_size=10,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        img_dir=data_root + '/train2014',
        ann_dir=pseudo_label_dir + '/labels',
        split=prepared_root + '/train2014.txt',
        pipeline=train_pipeline))
val_subset = 5000
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        img_dir=data_root + '/val2014',
        ann_dir=prepared_root + '/SegmentationClass/val2014',
        split=prepared_root + '/val2014.txt',
        indices=val_subset,   # mmengine BaseDataset: the first N images
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        img_dir=data_root + '/val2014',
        ann_dir=prepared_root + '/SegmentationClass/val2014',
        split=prepared_root + '/val2014.txt',
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
