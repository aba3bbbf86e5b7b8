"""Train a stage-1 classifier with mmengine's Runner (``tools/train_cam.py``)."""
from mmengine.config import Config
from mmengine.runner import Runner

from .checkpoint import allow_mmengine_checkpoints
from .datasets.classification import with_data_root
from .runner_options import set_resume_and_amp, set_work_dir_and_launcher


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
    set_work_dir_and_launcher(cfg, config, work_dir, launcher)
    set_resume_and_amp(cfg, resume, amp)
    return cfg


def train(config, **kwargs):
    """Build the Runner from ``config`` (a path) and train; returns the Runner."""
    cfg = load_config(config, **kwargs)
    allow_mmengine_checkpoints()
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner
