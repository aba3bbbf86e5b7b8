# MS COCO 2014 (COCO-object, 81 classes) on a GPU machine:
#   python3 tools/run_pipeline.py configs/pipeline/coco.py --work-dir work_dirs/coco \
#       --data-root data/coco
# prepare renders labels, id lists and GT PNGs into data/coco_wsss (COCO itself is
# only read); pseudo-labels for the 82,081 annotated train2014 images take ~28
# CPU-hours of CRF (docs/coco.md: split them across machines with
# tools/make_pseudo_labels.py --shard I/N, then --only eval_labels here).
# Seeds and pseudo-labels are scored on train2014 (its rendered GT); stage 2 on val2014.
dataset = dict(kind='coco', data_root='data/coco',
               prepare=dict(splits=('train2014', 'val2014'),
                            gt_splits=('train2014', 'val2014'), crowd='ignore'))
methods = dict(cam='configs/stage1/cam_resnet50_coco.py',
               bas='configs/stage1/bas_resnet50_coco.py')
default_methods = ['cam', 'bas']
stage1_cfg_options = {}
label_split = 'train2014'
seed_thresholds = (0.0, 0.95, 0.01)
pseudo_label_device = 'auto'
stage2_config = 'configs/stage2/deeplabv2_r101_coco.py'
stage2_cfg_options = {}
test_protocols = [dict(name='single-scale'),
                  dict(name='MS+flip+CRF', ms=True, flip=True, crf=True)]
figures = dict(num_images=8)
