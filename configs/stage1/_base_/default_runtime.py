# Runtime shared by every stage-1 config (mmengine Runner).
default_scope = 'stage1_cam'
custom_imports = dict(imports=['stage1_cam.registry', 'stage1_cam.models', 'stage1_cam.datasets'],
                      allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),   # loss, lr, time and ETA
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
log_processor = dict(by_epoch=True, window_size=20)
log_level = 'INFO'
randomness = dict(seed=0, deterministic=False)
load_from = None
resume = False

# Stage 1 trains without a validation loop (as the reference does): maps are
# evaluated afterwards by tools/eval_labels.py.
val_cfg = None
val_dataloader = None
val_evaluator = None
