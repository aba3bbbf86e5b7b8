"""Train a stage-1 classifier with mmengine's Runner (``tools/train_cam.py``)."""
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from wsss_core.checkpoint import allow_mmengine_checkpoints
from wsss_core.runner_options import make_resumable, set_resume_and_amp, set_work_dir_and_launcher

from .config import load_stage1_config
from .config_check import validate_stage1_config


def load_config(config, work_dir=None, resume=False, cfg_options=None, launcher='none',
                data_root=None, amp=False):
    """The config as the Runner will see it, with the command line applied.

    ``resume``: False, True (latest checkpoint in the work dir), or a path.
    ``data_root``: replaces the sources' ``data_root`` (and the paths that the
    config derived from it) without editing the file; ``cfg_options`` are
    applied after it (``wsss_core.config``).
    """
    cfg = load_stage1_config(config, data_root=data_root, cfg_options=cfg_options)
    set_work_dir_and_launcher(cfg, config, work_dir, launcher)
    set_resume_and_amp(cfg, resume, amp)
    make_resumable(cfg)   # --resume gives the uninterrupted run's result
    return cfg


def train(config, **kwargs):
    """Build the Runner from ``config`` (a path) and train; returns the Runner."""
    cfg = load_config(config, **kwargs)
    validate_stage1_config(cfg)  # before the Runner reads any data
    allow_mmengine_checkpoints()
    # The Runner makes its scope the process-wide default; restore the caller's
    # afterwards (stage 2 or another library may build from its own registries).
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        runner = Runner.from_cfg(cfg)
        runner.train()
    return runner
