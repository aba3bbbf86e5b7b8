"""Registries of stage 1, children of mmengine's roots (as MMSegmentation does).

Configs set ``default_scope = 'stage1_cam'``; what is not registered here
(optimizers, schedulers, hooks, ``ImgDataPreprocessor``) resolves through the
parent registries.
"""
from mmengine import registry as mmengine_registry
from mmengine.registry import Registry


def _child(name, parent, locations=()):
    return Registry(name, parent=parent, scope='stage1_cam', locations=list(locations))


MODELS = _child('model', mmengine_registry.MODELS, ['stage1_cam.models'])
DATASETS = _child('dataset', mmengine_registry.DATASETS, ['stage1_cam.datasets'])
TRANSFORMS = _child('transform', mmengine_registry.TRANSFORMS, ['stage1_cam.datasets'])
DATA_SAMPLERS = _child('data sampler', mmengine_registry.DATA_SAMPLERS, ['stage1_cam.datasets'])
# Children with nothing of ours in them, so the scope resolves without warnings.
RUNNERS = _child('runner', mmengine_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child('runner constructor', mmengine_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child('loop', mmengine_registry.LOOPS)
HOOKS = _child('hook', mmengine_registry.HOOKS)
FUNCTIONS = _child('function', mmengine_registry.FUNCTIONS)
OPTIMIZERS = _child('optimizer', mmengine_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child('optim_wrapper', mmengine_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    mmengine_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child('parameter scheduler', mmengine_registry.PARAM_SCHEDULERS)
METRICS = _child('metric', mmengine_registry.METRICS)
EVALUATOR = _child('evaluator', mmengine_registry.EVALUATOR)
VISUALIZERS = _child('visualizer', mmengine_registry.VISUALIZERS)
VISBACKENDS = _child('vis_backend', mmengine_registry.VISBACKENDS)
LOG_PROCESSORS = _child('log_processor', mmengine_registry.LOG_PROCESSORS)
WEIGHT_INITIALIZERS = _child('weight initializer', mmengine_registry.WEIGHT_INITIALIZERS)
MODEL_WRAPPERS = _child('model_wrapper', mmengine_registry.MODEL_WRAPPERS)

# Image sources (VOC, COCO, demo folders): the objects behind the torch datasets.
SOURCES = Registry('image source', scope='stage1_cam', locations=['stage1_cam.datasets'])

