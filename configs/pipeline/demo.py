# The whole pipeline on the bundled demo data (README's main command):
#   python3 tools/run_pipeline.py configs/pipeline/demo.py --work-dir work_dirs/pipeline_demo
# prepare -> train_cam -> make_pseudo_labels -> eval_labels -> train_seg -> test_seg -> report,
# for CAM and BAS by default (--methods cam,icl,bas,bas_icl for all four).
#
# Sized to finish on 2 CPU cores in under 15 minutes: CAM trains 5 epochs (its
# seeds gain nothing from 8), BAS the demo config's 8 (the generator needs the
# extra steps; at 5 its seeds are barely above CAM's), maps use 3 scales,
# stage 2 trains 200 iterations and is tested single-scale and with 3 scales +
# flip + CRF. Measured numbers: benchmarks/results/pipeline_demo.md and
# demo_stage1.md (benchmarks/demo_stage1.py).
dataset = dict(kind='demo', data_root='data/demo',
               prepare=dict(num_train=400, num_val=100, seed=0))
methods = dict(cam='configs/stage1/cam_mobilenetv2_demo.py',
               icl='configs/stage1/icl_mobilenetv2_demo.py',
               bas='configs/stage1/bas_mobilenetv2_demo.py',
               bas_icl='configs/stage1/bas_icl_mobilenetv2_demo.py')
default_methods = ['cam', 'bas']
stage1_cfg_options = {           # merged into every stage-1 config
    'pseudo_label.scales': (1.0, 0.5, 1.5)}
stage1_cfg_options_cam = {       # and these into the named method's only
    'train_cfg.max_epochs': 5, 'param_scheduler.0.end': 5}
stage1_cfg_options_icl = stage1_cfg_options_cam
label_split = 'train'            # pseudo-labels are made for, and scored on, this split
seed_thresholds = (0.0, 0.95, 0.01)   # BAS maps peak near 0.6, CAM maps near 0.15
stage2_config = 'configs/stage2/deeplabv2_mobilenetv2_demo.py'
stage2_iters = 200
stage2_cfg_options = {
    'train_cfg.max_iters': stage2_iters, 'train_cfg.val_interval': stage2_iters,
    'param_scheduler.0.end': stage2_iters}
test_protocols = [dict(name='single-scale'),
                  dict(name='MS+flip+CRF', ms=True, flip=True, crf=True,
                       scales=(0.75, 1.0, 1.5))]
figures = dict(num_images=6)
