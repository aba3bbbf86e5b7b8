# The real-photo benchmark as a pipeline (benchmarks/real_photos.py runs it per dataset seed):
#   python3 ../shared/benchmarks/make_voc_composites.py data/real_photos --seed 0
#   python3 tools/run_pipeline.py configs/pipeline/real_photos.py --work-dir work_dirs/real_photos \
#       --data-root data/real_photos/VOC2012 [--methods cam,bas,icl,bas_icl]
# 400 train / 100 val photographs of 320x320 (real VOC objects on blurred real photos, VOC
# layout, labels from Annotations/*.xml). Pseudo-labels for train, scored on its GT; stage 2
# scored on val. The schedules are those of the demo pipeline (CAM and ICL 5 epochs, the
# BAS methods their configs' 8), so the two benchmarks compare like with like.
dataset = dict(kind='voc', data_root='data/real_photos/VOC2012', splits=('train', 'val'))
methods = dict(cam='configs/stage1/cam_mobilenetv2_real.py',
               icl='configs/stage1/icl_mobilenetv2_real.py',
               bas='configs/stage1/bas_mobilenetv2_real.py',
               bas_icl='configs/stage1/bas_icl_mobilenetv2_real.py')
default_methods = ['cam', 'bas']
stage1_cfg_options = {'pseudo_label.scales': (1.0, 0.5, 1.5)}
stage1_cfg_options_cam = {'train_cfg.max_epochs': 5, 'param_scheduler.0.end': 5}
stage1_cfg_options_icl = stage1_cfg_options_cam
label_split = 'train'
seed_thresholds = (0.0, 0.95, 0.01)
stage2_config = 'configs/stage2/deeplabv2_mobilenetv2_real.py'
stage2_iters = 200
stage2_cfg_options = {
    'train_cfg.max_iters': stage2_iters, 'train_cfg.val_interval': stage2_iters,
    'param_scheduler.0.end': stage2_iters}
test_protocols = [dict(name='single-scale'),
                  dict(name='MS+flip+CRF', ms=True, flip=True, crf=True,
                       scales=(0.75, 1.0, 1.5))]
figures = dict(num_images=6)
