# IRN train_cam schedule: 5 epochs, lr 0.1 (10x on the classifier), wd 1e-4,
# poly 0.9, momentum effectively none (IRN's PolyOptimizer quirk, see
# schedule_bas_wsss.py).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.0, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'classifier': dict(lr_mult=10.0)}))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=True, begin=0, end=5,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=5)
