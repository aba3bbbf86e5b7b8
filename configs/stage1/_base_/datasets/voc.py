# PASCAL VOC 2012 train_aug (10,582 images), BAS-Extension augmentation: resize to
# 512x512 (bicubic), flip, random 448 crop. Labels from Annotations/*.xml (or set
# labels_file to the JSON of tools/prepare_voc.py, or cls_labels_npy to IRN's file).
# Put IRN's train_aug.txt in ImageSets/Segmentation/ (or set split_file).
_base_ = ['./loader.py']
data_root = 'data/VOCdevkit/VOC2012'
num_classes = 20
train_dataloader = dict(dataset=dict(
    num_classes=num_classes,
    source=dict(type='VOC', data_root=data_root,
                split_file=data_root + '/ImageSets/Segmentation/train_aug.txt'),
    pipeline=[dict(type='Resize', size=512), dict(type='RandomHorizontalFlip'),
              dict(type='RandomCrop', size=448)]))
