# BAS-Extension WSOL/train.py on CUB: SGD lr 0.001, momentum 0.9, Nesterov,
# wd 5e-4; new layers ('classifier': classifier and generator) 10x, biases 2x
# (mmengine applies bias_lr_mult to non-norm biases outside custom keys);
# x0.1 at epoch 80 of 120.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, nesterov=True, weight_decay=5e-4),
    paramwise_cfg=dict(bias_lr_mult=2.0, custom_keys={'classifier': dict(lr_mult=10.0)}))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[80], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=120)
