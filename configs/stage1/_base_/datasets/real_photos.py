# The real-photo benchmark (../shared/benchmarks/make_voc_composites.py OUT --seed S):
# real PASCAL VOC objects cut along their masks on blurred real photos, VOC layout,
# 320x320, 20 VOC classes, labels from Annotations/*.xml. Also the template for a
# user's own VOC-layout photographs at about this size.
_base_ = ['./loader.py']
data_root = 'data/real_photos/VOC2012'
num_classes = 20
train_dataloader = dict(
    num_workers=0,  # decoding 400 small JPEGs is cheap next to training on 2 cores
    persistent_workers=False,
    dataset=dict(
        num_classes=num_classes,
        source=dict(type='VOC', data_root=data_root, split='train'),
        pipeline=[dict(type='RandomScale', low=0.9, high=1.1), dict(type='RandomHorizontalFlip'),
                  dict(type='RandomCrop', size=320)]))
