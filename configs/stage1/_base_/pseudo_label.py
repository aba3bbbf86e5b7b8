# How tools/make_pseudo_labels.py turns a trained classifier into labels.
# map_kind: 'bas' (generator maps), 'cam' (class activation maps) or 'fused'
# (norm(norm(bas) + norm(cam)), BAS-Extension make_cam.py); set by the model base.
# refine: see stage1_cam/refine.py DEFAULT_REFINE_CFG (IRN confident regions:
# foreground threshold 0.30, background threshold 0.05, label-CRF of IRN).
# threshold_split / threshold_images: where a sweep places 'auto' thresholds
# (default: the labelled split) and on at most how many of its images.
# threshold_band: 'auto' puts fg at the sweep's best threshold and bg at the lowest
# threshold below it whose seed mIoU is within this share of the best (0.10 = 10
# points; stage1_cam/thresholds.py). This project's rule, not a paper's.
pseudo_label = dict(
    scales=(1.0, 0.5, 1.5, 2.0),
    threshold_images=2000,
    threshold_band=0.10,
    refine=dict(scheme='irn', fg_threshold=0.30, bg_threshold=0.05))
