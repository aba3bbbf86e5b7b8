# BAS-Extension WSSS schedule (train_bas.py): 10 epochs, lr 0.005, wd 1e-4, poly
# 0.9, classifier and generator at 10x LR. Batch 16 (global) is set by the
# dataset config: 16 // GPUs per GPU.
# Momentum: the reference (IRN's PolyOptimizer) passes weight_decay as SGD's
# momentum, i.e. momentum 1e-4, effectively none; we keep that (0) to match
# its effective step size. BN biases (frozen there by accident) do train here.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.0, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'classifier': dict(lr_mult=10.0)}))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=True, begin=0, end=10,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10)
