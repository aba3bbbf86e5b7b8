# Test-time augmentation shared by every stage-2 dataset config.
# tools/test_seg.py --ms: softmax averaged over these scales; --tta: the same
# with flips, as mmseg's tta_pipeline (original-size GT, loaded after the views).
tta_scales = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale_factor=s, keep_ratio=True) for s in tta_scales],
        [dict(type='RandomFlip', prob=0.0, direction='horizontal'),
         dict(type='RandomFlip', prob=1.0, direction='horizontal')],
        [dict(type='LoadAnnotations')],
        [dict(type='PackSegInputs')]])]
