# The WSSS DeepLab recipe on VOC (deeplab-pytorch as used by IRN, AdvCAM, AMN,
# CLIP-ES): batch 10, 20k iterations, SGD lr 2.5e-4, momentum 0.9, weight
# decay 5e-4, poly power 0.9; the newly initialised head learns 10x faster
# (its biases 20x, without weight decay: see the model configs).
max_iters = 20000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=5e-4),
    clip_grad=None,
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
