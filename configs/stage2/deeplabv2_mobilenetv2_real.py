# DeepLabV2 (ASPP-v2) on MobileNetV2 for the real-photo benchmark (320x320 VOC-layout
# photographs, 20 VOC classes; ../shared/benchmarks/make_voc_composites.py), sized for
# 2 CPU cores: the demo's schedule and model at the VOC recipe's 321 crop.
_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/voc.py', './_base_/models/deeplabv2_mobilenetv2.py']
data_root = 'data/real_photos/VOC2012'
pseudo_label_dir = 'work_dirs/pseudo_labels/real_photos'
crop_size = (321, 321)
# The continuous rescale in [0.5, 2.0] that benchmarks/results/real_photos.md was
# measured with (the VOC recipe now draws from deeplab-pytorch's 0.5..1.5 set).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomRescale', ratio_range=(0.5, 2.0)),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(img_dir=data_root + '/JPEGImages', ann_dir=pseudo_label_dir + '/labels',
                 split=data_root + '/ImageSets/Segmentation/train.txt',
                 pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(img_dir=data_root + '/JPEGImages', ann_dir=data_root + '/SegmentationClass',
                 split=data_root + '/ImageSets/Segmentation/val.txt'))
test_dataloader = val_dataloader
# The pad size covers the crop; rates 3/6/9/12 on the ~21x21 stride-16 map of a 321 crop keep
# VOC's 6..24 on 41x41 in proportion (larger rates would reach past the map).
model = dict(data_preprocessor=dict(size=crop_size),
             decode_head=dict(num_classes=21, dilations=(3, 6, 9, 12)))
env_cfg = dict(cudnn_benchmark=False)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=100, max_keep_ckpts=2))
