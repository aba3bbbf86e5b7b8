"""The whole WSSS pipeline as named steps (``tools/run_pipeline.py``).

prepare -> train_cam -> make_pseudo_labels -> eval_labels -> train_seg -> test_seg
-> report. Each step reads and writes one folder under the work dir and is
skipped while its folder is marked complete with the inputs the settings give
now (``bookkeeping.py``); every chosen config is checked before the first step
(``validate.py``); see ``steps.py``.
"""
from .run import STEPS, run_pipeline

__all__ = ['STEPS', 'run_pipeline']
