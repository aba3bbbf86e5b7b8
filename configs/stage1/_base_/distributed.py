# Multi-GPU training (tools/train_cam.py --launcher pytorch): every BatchNorm layer
# becomes torch's SyncBatchNorm, as BAS-Extension's train_bas.py converts its model.
# With the global batch of 16 split over GPUs (16 // GPUs each), plain BatchNorm
# would normalise each GPU's 4 images (also in BAS's erased-background branch,
# model.background_norm='batch'). mmengine's Runner converts only when the run is
# distributed; a single process keeps plain BatchNorm.
sync_bn = 'torch'
