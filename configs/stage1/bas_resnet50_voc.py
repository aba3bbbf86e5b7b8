_base_ = ['./_base_/default_runtime.py', './_base_/schedules/bas_wsss.py',
          './_base_/datasets/voc.py', './_base_/models/bas.py',
          './_base_/distributed.py']
# BAS-Extension WSSS: ResNet-50 (output stride 16, layer3 feeds the generator).
model = dict(backbone=dict(type='resnet50'), num_classes=20)
# 'auto' thresholds from the seed sweep on train (1,464 images with GT), as the papers score.
pseudo_label = dict(threshold_split='train')
