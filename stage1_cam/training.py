"""Train a stage-1 classifier with mmengine's Runner (``tools/train_cam.py``)."""
import os.path as osp

from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported for tools)
from mmengine.runner import Runner

from .checkpoint import allow_mmengine_checkpoints
from .datasets.classification import with_data_root


def load_config(config, work_dir=None, resume=False, cfg_options=None, launcher='none',
                data_root=None, amp=False):
    """The config as the Runner will see it, with the command line applied.

    ``resume``: False, True (latest checkpoint in the work dir), or a path.
    ``data_root``: replaces the training source's ``data_root`` (and the
    paths that the config derived from it) without editing the file.
    """
    cfg = Config.fromfile(config)
    if data_root is not None:
        cfg.train_dataloader.dataset.source = with_data_root(
            cfg.train_dataloader.dataset.source, data_root)
        cfg.data_root = data_root
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(config))[0])
    if resume is True:
        cfg.resume = True
    elif resume:
        cfg.resume = True
        cfg.load_from = resume
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    return cfg


def train(config, **kwargs):
    """Build the Runner from ``config`` (a path) and train; returns the Runner."""
    cfg = load_config(config, **kwargs)
    allow_mmengine_checkpoints()
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner
