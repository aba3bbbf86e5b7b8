# The COCO-format demo (tools/prepare_coco_demo.py --out data/coco_demo, then
# tools/prepare_coco.py --coco-root data/coco_demo --out data/coco_demo_wsss
# --gt-splits train2014 val2014): demo images, 80 COCO categories (6 used).
_base_ = ['./loader.py']
data_root = 'data/coco_demo'
prepared_root = data_root + '_wsss'
num_classes = 80
train_dataloader = dict(
    num_workers=0,  # loading is cheap; worker processes only compete with the 2 CPU cores
    persistent_workers=False,
    dataset=dict(
        num_classes=num_classes,
        source=dict(type='COCO', data_root=data_root, split='train2014',
                    prepared_root=prepared_root),
        pipeline=[dict(type='RandomScale', low=0.9, high=1.1), dict(type='RandomHorizontalFlip'),
                  dict(type='RandomCrop', size=128)]))
