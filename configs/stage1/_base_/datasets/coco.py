# MS COCO 2014 train (82,783 images; those without annotations are excluded).
# The reference publishes no COCO recipe; we use the VOC augmentation.
_base_ = ['./loader.py']
data_root = 'data/coco'
num_classes = 80
train_dataloader = dict(
    num_workers=8,
    dataset=dict(
        num_classes=num_classes,
        source=dict(type='COCO', image_dir=data_root + '/train2014',
                    ann_file=data_root + '/annotations/instances_train2014.json'),
        pipeline=[dict(type='Resize', size=512), dict(type='RandomHorizontalFlip'),
                  dict(type='RandomCrop', size=448)]))
