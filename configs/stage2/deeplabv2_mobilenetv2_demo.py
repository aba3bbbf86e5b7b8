# DeepLabV2 (ASPP-v2 head) on the offline ImageNet MobileNetV2 (output stride 16), trained on the
# demo pseudo-labels and evaluated on the demo val GT: a few minutes on 2 CPU
# cores (300 iterations, batch 8, 128x128 crops).
#   python3 tools/train_seg.py configs/stage2/deeplabv2_mobilenetv2_demo.py \
#       --pseudo-labels work_dirs/pseudo_labels/demo
_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/demo.py', './_base_/models/deeplabv2_mobilenetv2.py']
model = dict(decode_head=dict(num_classes=7))
env_cfg = dict(cudnn_benchmark=False)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=100, max_keep_ckpts=2))
