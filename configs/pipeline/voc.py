# PASCAL VOC 2012, the papers' protocol, on a GPU machine:
#   python3 tools/run_pipeline.py configs/pipeline/voc.py --work-dir work_dirs/voc \
#       --data-root data/VOCdevkit/VOC2012 [--methods cam,bas,icl,bas_icl]
# Pseudo-labels are made for train_aug (10,582 images; the stage-2 training set)
# and scored, seeds and labels, on train (1,464 images with GT), as IRN, BAS and
# the tables in ../shared/reference/wsss-anchors.md do; stage 2 is scored on val.
# Needs ImageNet ResNet-50 (stage 1) and ResNet-101 (stage 2) weights: see README.
dataset = dict(kind='voc', data_root='data/VOCdevkit/VOC2012',
               splits=('train_aug', 'train', 'val'))
methods = dict(cam='configs/stage1/cam_resnet50_voc.py',
               bas='configs/stage1/bas_resnet50_voc.py',
               icl='configs/stage1/icl_resnet50_voc.py',
               bas_icl='configs/stage1/bas_icl_resnet50_voc.py')
default_methods = ['cam', 'bas']
stage1_cfg_options = {}
label_split = 'train_aug'
eval_split = 'train'
seed_thresholds = (0.0, 0.95, 0.01)
pseudo_label_device = 'auto'      # cuda when available
stage2_config = 'configs/stage2/deeplabv2_r101_voc.py'
stage2_cfg_options = {}
test_protocols = [dict(name='single-scale'),
                  dict(name='MS+flip+CRF', ms=True, flip=True, crf=True)]
figures = dict(num_images=8)
