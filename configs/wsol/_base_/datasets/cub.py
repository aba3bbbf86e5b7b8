# CUB-200-2011 (5,994 train / 5,794 test images, 200 classes, one box each).
# BAS / wsolevaluation training transform: resize to 256x256, random 224 crop,
# flip. Evaluation (tools/eval_wsol.py): the whole image resized to 224x224.
_base_ = ['../../../stage1/_base_/datasets/loader.py']
data_root = 'data/CUB_200_2011'
num_classes = 200
train_dataloader = dict(
    batch_size=32,  # BAS: 32 for every backbone on CUB
    dataset=dict(
        num_classes=num_classes,
        source=dict(type='CUB', data_root=data_root, split='train'),
        pipeline=[dict(type='Resize', size=256, interpolation='bilinear'),
                  dict(type='RandomCrop', size=224), dict(type='RandomHorizontalFlip')]))
wsol = dict(split='test', input_size=224, iou_thresholds=[30, 50, 70], threshold_step=0.001,
            batch_size=32, num_workers=4)
