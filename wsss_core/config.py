"""Loading an mmengine config with the command line applied: one rule for every step.

Precedence, lowest first:

1. the config file (with its ``_base_`` files);
2. ``--data-root DIR``: the dataset paths that start with the config's data
   root move to DIR (each stage knows where its paths are, so it passes the
   function that moves them);
3. ``--cfg-options KEY=VALUE ...``: merged last, so an explicit option always
   wins, also over a path that ``--data-root`` moved.

Stage 1 (training, pseudo-labels, label reports, WSOL), stage 2 (training,
testing) and the pipeline all load through ``load_config``.
"""
from mmengine.config import Config

from .errors import UserError


class ConfigError(UserError, ValueError):
    """A config that cannot work; the message names the key and the fix."""


def load_config(config, data_root=None, move_data_root=None, cfg_options=None):
    """``config`` (a path, or a Config taken as is) with the command line applied.

    ``move_data_root(cfg, data_root)``: edits ``cfg`` in place for
    ``--data-root`` (required when ``data_root`` is given). ``cfg_options``:
    the ``--cfg-options`` dict, merged after it (see the module docstring).
    """
    cfg = config if isinstance(config, Config) else Config.fromfile(str(config))
    if data_root is not None:
        if move_data_root is None:
            raise ConfigError(f'--data-root is not supported for {config}.')
        move_data_root(cfg, data_root)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
