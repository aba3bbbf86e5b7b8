_base_ = ['./_base_/default_runtime.py', './_base_/schedules/demo.py',
          './_base_/datasets/demo.py', './_base_/models/bas_icl.py']
# BAS + ICL on the demo data, same backbone and schedule as the BAS demo.
model = dict(backbone=dict(type='mobilenet_v2', output_stride=8), num_classes=6)
# The ICL non-local blocks are new layers: 10x LR like the classifier.
# BAS's L_mcls needs the BAS demo's 10x lower LR (see bas_mobilenetv2_demo.py).
optim_wrapper = dict(optimizer=dict(lr=0.001),
                     paramwise_cfg=dict(custom_keys={'icl_': dict(lr_mult=10.0)}))
default_hooks = dict(logger=dict(interval=5))
