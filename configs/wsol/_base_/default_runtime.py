# Stage 1's runtime, plus the WSOL image sources (type='CUB' / 'ImageNet').
_base_ = ['../../stage1/_base_/default_runtime.py']
custom_imports = dict(
    imports=['stage1_cam.registry', 'stage1_cam.models', 'stage1_cam.datasets', 'stage1_cam.wsol'],
    allow_failed_imports=False)
