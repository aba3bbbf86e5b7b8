# PASCAL VOC 2012 train_aug (10,582 images), BAS-Extension augmentation:
# resize to 512x512 (bicubic), flip, random 448 crop. Labels from Annotations/*.xml
# (or set labels_file to the JSON written by tools/prepare_voc.py).
data_root = 'data/VOCdevkit/VOC2012'
num_classes = 20
train_dataloader = dict(
    batch_size=16,  # per GPU: use 16 // GPUs under torchrun to keep the global batch 16
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='EpochIndexSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageLabelDataset',
        num_classes=num_classes,
        source=dict(type='VOC', data_root=data_root,
                    split_file=data_root + '/ImageSets/Segmentation/train_aug.txt'),
        pipeline=[dict(type='Resize', size=512), dict(type='RandomHorizontalFlip'),
                  dict(type='RandomCrop', size=448)]))
