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

# tools/test_seg.py --ms: the scales of the multi-scale test (softmax averaged
# over scales, and over flips with --flip); --crf: the dense CRF's parameters
# (wsss_core/crf.py CRF_PRESETS: 'deeplab' = deeplab-pytorch's DenseCRF,
# Gaussian sxy 1 compat 3, bilateral sxy 67 srgb 3 compat 4, 10 iterations).
tta_scales = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
crf = dict(preset='deeplab')
