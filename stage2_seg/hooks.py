"""``ValWithoutCudnnBenchmarkHook``: cuDNN autotuning for training only.

Training sees one input shape (the crop), where ``cudnn_benchmark=True``
picks the fastest kernels once. Validation and testing run every image at its
own size (COCO val2014 has hundreds of shapes), and with benchmarking on each
new shape is autotuned first, which costs more than it saves. This hook
switches it off around every validation and restores the training setting
afterwards; ``stage2_seg.test`` switches it off for testing.
"""
import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class ValWithoutCudnnBenchmarkHook(Hook):
    """``torch.backends.cudnn.benchmark = False`` during validation."""

    priority = 'NORMAL'

    def __init__(self):
        self._training_setting = None

    def before_val(self, runner):
        self._training_setting = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = False

    def after_val(self, runner):
        if self._training_setting is not None:
            torch.backends.cudnn.benchmark = self._training_setting
            self._training_setting = None
