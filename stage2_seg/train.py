"""Train a stage-2 segmentor with mmengine's Runner (``tools/train_seg.py``).

mmseg's ``tools/train.py`` semantics (``--work-dir``, ``--resume``, ``--amp``,
``--cfg-options``, ``--launcher``), plus:

* ``pseudo_labels``: train on a stage-1 output folder without editing the
  config (its ``labels/`` folder becomes the training split's ``ann_dir``);
* ``data_root``: move the dataset paths that start with the config's
  ``data_root``;
* the class count of every head is checked against every dataset, and the
  pseudo-label folder (manifest, one label per image) when the dataset is built,
  before the first step;
* mmengine checkpoints load under torch >= 2.6 (``allow_mmengine_checkpoints``),
  so ``--resume`` works without ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``;
* ``--resume`` gives the uninterrupted run's weights: checkpoints carry the
  generators' states and are written atomically (``make_resumable``).
"""
from mmengine.logging import print_log
from mmengine.runner import Runner

from wsss_core.checkpoint import allow_mmengine_checkpoints
from wsss_core.runner_options import make_resumable, set_resume_and_amp

from .config_utils import check_data_folders, check_num_classes, load, set_pseudo_labels


def load_train_config(config, work_dir=None, resume=False, amp=False, cfg_options=None,
                      launcher='none', pseudo_labels=None, data_root=None):
    """The config as the Runner will see it, with the command line applied.

    ``resume``: False, True (the latest checkpoint of the work dir), or a path.
    """
    cfg = load(config, cfg_options=cfg_options, work_dir=work_dir, launcher=launcher,
               data_root=data_root)
    if pseudo_labels is not None:
        ann_dir = set_pseudo_labels(cfg, pseudo_labels)
        print_log(f'training labels: {ann_dir}', logger='current')
    set_resume_and_amp(cfg, resume, amp)
    make_resumable(cfg)
    check_num_classes(cfg)
    return cfg


def train(config, **kwargs):
    """Build the Runner from ``config`` (a path) and train; returns the Runner."""
    cfg = load_train_config(config, **kwargs)
    check_data_folders(cfg, ('train_dataloader', 'val_dataloader'))
    allow_mmengine_checkpoints()
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner
