"""Registries of stage 1, children of mmengine's roots.

Configs set ``default_scope = 'stage1_cam'``; anything not found here (the
optimizer, schedulers, hooks, ``ImgDataPreprocessor``) is looked up in
mmengine's parent registries.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='stage1_cam',
                  locations=['stage1_cam.models'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='stage1_cam',
                    locations=['stage1_cam.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='stage1_cam',
                      locations=['stage1_cam.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='stage1_cam',
                         locations=['stage1_cam.datasets'])
# Image sources (VOC, COCO, demo folders): the objects behind the torch datasets.
SOURCES = Registry('image source', scope='stage1_cam', locations=['stage1_cam.datasets'])
