# The COCO pipeline (80 classes, prepare_coco, COCO-object stage 2) on the
# COCO-format demo, on a CPU:
#   python3 tools/run_pipeline.py configs/pipeline/coco_demo.py --work-dir work_dirs/pipeline_coco_demo
dataset = dict(kind='coco_demo', data_root='data/coco_demo',
               generate=dict(num_train=400, num_val=100, image_size=(128, 128)),
               prepare=dict(splits=('train2014', 'val2014'),
                            gt_splits=('train2014', 'val2014')))
methods = dict(cam='configs/stage1/cam_mobilenetv2_coco_demo.py',
               bas='configs/stage1/bas_mobilenetv2_coco_demo.py')
default_methods = ['cam', 'bas']
stage1_cfg_options = {}
label_split = 'train2014'
seed_thresholds = (0.0, 0.95, 0.01)
stage2_config = 'configs/stage2/deeplabv2_mobilenetv2_coco_demo.py'
stage2_cfg_options = {}
test_protocols = [dict(name='single-scale'),
                  dict(name='MS+flip+CRF', ms=True, flip=True, crf=True, scales=(0.75, 1.0, 1.5))]
figures = dict(num_images=6)
