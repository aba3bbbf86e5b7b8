# A few minutes on 2 CPU cores: 300 iterations at batch 8 on 128x128 crops,
# evaluated on the demo val split at the end. SGD with momentum at lr 0.01
# and, unlike the VOC recipe, no 10x head LR: with it the summed ASPP-v2
# branches oscillated (measured on the demo: 50.4 vs 64.9 mIoU after 300
# iterations on GT-derived labels).
max_iters = 300
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
