# MS COCO 2014 train (82,783 images; those without annotations are excluded).
# The reference publishes no COCO recipe; we use the VOC augmentation.
data_root = 'data/coco'
num_classes = 80
train_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='EpochIndexSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageLabelDataset',
        num_classes=num_classes,
        source=dict(type='COCO', image_dir=data_root + '/train2014',
                    ann_file=data_root + '/annotations/instances_train2014.json'),
        pipeline=[dict(type='Resize', size=512), dict(type='RandomHorizontalFlip'),
                  dict(type='RandomCrop', size=448)]))
