# ImageNet-1k (ILSVRC 2012): train/<wnid>/ class folders; val images with a box
# list (val_boxes.csv "image,wnid,x1,y1,x2,y2" or Kaggle's LOC_val_solution.csv).
# Same transforms as CUB (BAS / wsolevaluation).
_base_ = ['../../../stage1/_base_/datasets/loader.py']
data_root = 'data/imagenet'
num_classes = 1000
train_dataloader = dict(
    batch_size=32,  # per GPU; BAS: global 128 (4 GPUs x 32)
    num_workers=8,
    dataset=dict(
        num_classes=num_classes,
        source=dict(type='ImageNet', data_root=data_root, split='train'),
        pipeline=[dict(type='Resize', size=256, interpolation='bilinear'),
                  dict(type='RandomCrop', size=224), dict(type='RandomHorizontalFlip')]))
wsol = dict(split='val', input_size=224, iou_thresholds=[30, 50, 70], threshold_step=0.001,
            batch_size=64, num_workers=8)
