_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/demo.py', './_base_/models/bas.py']
# BAS on the demo data with the offline ImageNet MobileNetV2 (output stride 8:
# the tap after block 13 feeds the generator; blocks 14-18 are the later stage).
# The later stage holds 73% of this network's FLOPs, so the background branch
# that re-runs it costs about half a CAM step in float32; 'auto' computes it in
# bfloat16 where the CPU/GPU has native bfloat16, which makes BAS's step cheaper
# and leaves the demo's seeds as they were (stage1_cam/models/precision.py; step
# times in benchmarks/results/summary.md, accuracy in pipeline_demo.md).
model = dict(backbone=dict(type='mobilenet_v2', output_stride=8), num_classes=6,
             background_dtype='auto')
# L_mcls sums a softmax loss over each image's positives, so its gradients are
# about C times those of CAM's soft-margin loss: a 10x lower LR than CAM's (the
# reference uses 0.005 for BAS vs 0.1 for IRN's CAM). At 0.01 it diverged.
optim_wrapper = dict(optimizer=dict(lr=0.001))
default_hooks = dict(logger=dict(interval=5))
