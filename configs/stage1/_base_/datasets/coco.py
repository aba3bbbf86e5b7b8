# MS COCO 2014 train2014 (82,783 images; the 82,081 with annotations are trained on).
#   data_root:     the COCO download (train2014/, val2014/, annotations/), read only;
#   prepared_root: tools/prepare_coco.py --coco-root data/coco --out data/coco_wsss
#                  (labels, id lists, GT PNGs; the instances JSON is not loaded).
# --data-root DIR moves both (DIR and DIR_wsss). The reference publishes no COCO
# recipe; we use the VOC augmentation. Pseudo-labels / eval_labels take --split val2014.
_base_ = ['./loader.py']
data_root = 'data/coco'
prepared_root = data_root + '_wsss'
num_classes = 80
train_dataloader = dict(
    num_workers=8,
    dataset=dict(
        num_classes=num_classes,
        source=dict(type='COCO', data_root=data_root, split='train2014',
                    prepared_root=prepared_root),
        pipeline=[dict(type='Resize', size=512), dict(type='RandomHorizontalFlip'),
                  dict(type='RandomCrop', size=448)]))
