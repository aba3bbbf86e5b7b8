# The box-labelled demo set (tools/prepare_demo_boxes.py --out data/demo_boxes):
# CUB layout, 128x128 single-object images of the 6 demo classes. The CUB
# transform scaled to 128 px: resize to 146x146 (256/224 x 128), random 128
# crop, flip; evaluation on the whole image at 128x128.
_base_ = ['../../../stage1/_base_/datasets/loader.py']
data_root = 'data/demo_boxes'
num_classes = 6
train_dataloader = dict(
    batch_size=16,
    num_workers=0,  # loading is cheap; workers only compete for the 2 CPU cores
    persistent_workers=False,
    dataset=dict(
        num_classes=num_classes,
        source=dict(type='CUB', data_root=data_root, split='train'),
        pipeline=[dict(type='Resize', size=146, interpolation='bilinear'),
                  dict(type='RandomCrop', size=128), dict(type='RandomHorizontalFlip')]))
wsol = dict(split='test', input_size=128, iou_thresholds=[30, 50, 70], threshold_step=0.001,
            batch_size=16, num_workers=0)
