# VOC train_aug with IRN's train_cam augmentation: long side 320..640, flip, 512 crop.
_base_ = ['./voc.py']
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='RandomResizeLong', low=320, high=640), dict(type='RandomHorizontalFlip'),
    dict(type='RandomCrop', size=512)]))
