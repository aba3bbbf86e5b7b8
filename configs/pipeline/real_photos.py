# The real-photo benchmark as a pipeline (benchmarks/real_photos.py runs it per dataset seed):
#   python3 ../shared/benchmarks/make_voc_composites.py data/real_photos --seed 0
#   python3 tools/run_pipeline.py configs/pipeline/real_photos.py --work-dir work_dirs/real_photos \
#       --data-root data/real_photos/VOC2012 [--methods cam,bas,icl,bas_icl]
# 400 train / 100 val photographs of 320x320 (real VOC objects on blurred real photos, VOC
# layout, labels from Annotations/*.xml). Pseudo-labels for train, scored on its GT; stage 2
# scored on val. Schedules, map scales, sweep and test protocols are the demo pipeline's
# (inherited), so the two benchmarks compare like with like; only the data and the configs
# for 320 px photographs differ.
_base_ = ['./demo.py']
dataset = dict(_delete_=True, kind='voc', data_root='data/real_photos/VOC2012',
               splits=('train', 'val'))
methods = dict(cam='configs/stage1/cam_mobilenetv2_real.py',
               icl='configs/stage1/icl_mobilenetv2_real.py',
               bas='configs/stage1/bas_mobilenetv2_real.py',
               bas_icl='configs/stage1/bas_icl_mobilenetv2_real.py')
stage2_config = 'configs/stage2/deeplabv2_mobilenetv2_real.py'
