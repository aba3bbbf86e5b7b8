# The whole pipeline on the bundled demo data (README's main command):
#   python3 tools/run_pipeline.py configs/pipeline/demo.py --work-dir work_dirs/pipeline_demo
# prepare -> train_cam -> make_pseudo_labels -> eval_labels -> train_seg -> test_seg -> report,
# for CAM and BAS by default (--methods cam,icl,bas,bas_icl for all four).
dataset = dict(kind='demo', data_root='data/demo',
               prepare=dict(num_train=400, num_val=100, seed=0))
methods = dict(cam='configs/stage1/cam_mobilenetv2_demo.py',
               icl='configs/stage1/icl_mobilenetv2_demo.py',
               bas='configs/stage1/bas_mobilenetv2_demo.py',
               bas_icl='configs/stage1/bas_icl_mobilenetv2_demo.py')
default_methods = ['cam', 'bas']
stage1_cfg_options = {}          # merged into every stage-1 config
label_split = 'train'            # pseudo-labels are made for, and scored on, this split
seed_thresholds = (0.0, 0.95, 0.01)   # BAS maps peak near 0.6, CAM maps near 0.15
stage2_config = 'configs/stage2/deeplabv2_mobilenetv2_demo.py'
stage2_cfg_options = {}
test_protocols = [dict(name='single-scale'),
                  dict(name='MS+flip+CRF', ms=True, flip=True, crf=True)]
figures = dict(num_images=6)
