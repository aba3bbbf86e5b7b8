# The WSSS DeepLab recipe on COCO (deeplab-pytorch cocostuff, used by the
# IRN-family papers for COCO): as VOC, with 100k iterations.
_base_ = ['./wsss_voc_20k.py']
max_iters = 100000
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
