# BAS-Extension WSOL/train_ILSVRC.py: as CUB, 9 epochs, x0.1 at epochs 3 and 6.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, nesterov=True, weight_decay=5e-4),
    paramwise_cfg=dict(bias_lr_mult=2.0, custom_keys={'classifier': dict(lr_mult=10.0)}))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[3, 6], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=9)
