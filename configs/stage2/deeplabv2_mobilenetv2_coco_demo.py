# DeepLabV2 (ASPP-v2 head) on MobileNetV2 as deeplabv2_mobilenetv2_demo.py, on the
# COCO-format demo (81 classes: COCO-object), for running the COCO chain on a CPU:
#   python3 tools/train_seg.py configs/stage2/deeplabv2_mobilenetv2_coco_demo.py \
#       --pseudo-labels work_dirs/pseudo_labels/coco_demo
_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/coco_demo.py', './_base_/models/deeplabv2_mobilenetv2.py']
model = dict(decode_head=dict(num_classes=81))
env_cfg = dict(cudnn_benchmark=False)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=100, max_keep_ckpts=2))
