"""Loading a stage-1 config with the command line applied (``wsss_core.config``'s
precedence: file, then ``--data-root``, then ``--cfg-options``)."""
from wsss_core.config import load_config

from .datasets.classification import with_data_root

# Source configs a stage-1 config may hold; --data-root moves each one present.
SOURCE_KEYS = (('train_dataloader', 'dataset', 'source'), ('pseudo_label', 'source'),
               ('wsol', 'source'))


def move_data_root(cfg, data_root):
    """Point every source of ``cfg`` at ``data_root``: each source's paths that
    start with its old ``data_root`` move with it (``with_data_root``)."""
    data_root = str(data_root)
    for keys in SOURCE_KEYS:
        parent = cfg
        for key in keys[:-1]:
            parent = parent.get(key) if parent is not None else None
        if parent is not None and parent.get(keys[-1]):
            parent[keys[-1]] = with_data_root(parent[keys[-1]], data_root)
    cfg.data_root = data_root


def load_stage1_config(config, data_root=None, cfg_options=None):
    """The stage-1 config at ``config`` with ``--data-root`` and ``--cfg-options``."""
    return load_config(config, data_root=data_root, move_data_root=move_data_root,
                       cfg_options=cfg_options)
