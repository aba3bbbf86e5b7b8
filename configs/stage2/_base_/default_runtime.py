# Runtime shared by every stage-2 config: mmseg's iteration-based defaults,
# with the stage2_seg plugin (ASPPV2Head, LabelDirDataset, ...) imported.
default_scope = 'mmseg'
custom_imports = dict(imports=['stage2_seg'], allow_failed_imports=False)

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000, max_keep_ckpts=3,
                    save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))

# Validation and testing see every image at its own size: cuDNN autotuning
# (cudnn_benchmark, for the fixed training crop) is off while validating
# (stage2_seg/hooks.py) and for tools/test_seg.py.
custom_hooks = [dict(type='ValWithoutCudnnBenchmarkHook')]

# tools/test_seg.py --tta (mmseg's convention): tta_model over the dataset
# config's tta_pipeline; --ms/--flip build the same from tta_scales (dataset
# configs). --crf: the dense CRF's parameters (wsss_core/crf.py CRF_PRESETS:
# 'deeplab' = deeplab-pytorch's DenseCRF, Gaussian sxy 1 compat 3, bilateral
# sxy 67 srgb 3 compat 4, 10 iterations) over the classes whose softmax reaches
# prob_floor somewhere in the image (0 = every class; stage2_seg/crf.py), run
# in crf_workers processes ('auto' = every usable CPU; 0 = in the test process).
tta_model = dict(type='WSSSTTAModel')
crf = dict(preset='deeplab', prob_floor=0.01)
crf_workers = 'auto'
