# mmseg's 20k schedule (configs/_base_/schedules/schedule_20k.py of
# mmsegmentation 1.2.2, the one its DeepLabV3+ VOC recipe uses): SGD lr 0.01,
# momentum 0.9, weight decay 5e-4, poly power 0.9 down to 1e-4, 20k iterations,
# no per-head learning-rate multiplier.
max_iters = 20000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
