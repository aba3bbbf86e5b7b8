# mmseg's 80k schedule (schedule_80k.py; its COCO-Stuff-164k DeepLabV3 recipe):
# as mmseg_20k.py over 80k iterations. Validation every 10k iterations, on the
# COCO config's val subset.
_base_ = ['./mmseg_20k.py']
max_iters = 80000
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
