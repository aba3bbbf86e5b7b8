# A short CPU schedule for the demo boxes set (MobileNetV2, 2 cores): the CUB
# optimiser (Nesterov SGD, 10x new layers) with a 10x higher base LR and poly
# decay, as the stage-1 demo schedule, since the run is only a few epochs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4),
    paramwise_cfg=dict(bias_lr_mult=2.0, custom_keys={'classifier': dict(lr_mult=10.0)}))
max_epochs = 8
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=True, begin=0,
                        end=max_epochs, convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
