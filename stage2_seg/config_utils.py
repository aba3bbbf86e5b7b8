"""Command-line edits of a stage-2 config, shared by ``train.py`` and ``test.py``.

Kept apart from the Runner calls so tests can check what a command line does
to a config without training anything.
"""
import time
from pathlib import Path

from mmseg.registry import DATASETS

from wsss_core.config import ConfigError, load_config
from wsss_core.label_folder import LabelFolderError, list_labels
from wsss_core.runner_options import set_work_dir_and_launcher

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
PATH_KEYS = ('img_dir', 'ann_dir', 'split')


def load(config, cfg_options=None, work_dir=None, launcher='none', data_root=None):
    """The config with ``--cfg-options``, ``--work-dir``, ``--launcher`` and
    ``--data-root`` applied (work dir default: ``work_dirs/<config name>``;
    precedence: ``wsss_core.config``)."""
    cfg = load_config(config, data_root=data_root, move_data_root=move_data_root,
                      cfg_options=cfg_options)
    set_work_dir_and_launcher(cfg, config, work_dir, launcher)
    if cfg.get('visualizer') is not None:
        # mmengine keeps one Visualizer per name per process: with the configs'
        # fixed name a second Runner in the same process (run_pipeline, tests)
        # would log its scalars into the first runner's folder.
        cfg.visualizer.name = f'{cfg.visualizer.get("name", "visualizer")}_{time.time_ns()}'
    return cfg


def innermost_dataset(dataset_cfg):
    """The dataset config inside wrappers (``RepeatDataset(dataset=...)``)."""
    while 'dataset' in dataset_cfg and 'img_dir' not in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def move_data_root(cfg, data_root):
    """Replace the config's ``data_root`` in every dataset path that starts with it."""
    old = cfg.get('data_root')
    if not old:
        raise ConfigError('--data-root needs a config with a top-level data_root variable.')
    for loader in LOADERS:
        if cfg.get(loader) is None:
            continue
        dataset = innermost_dataset(cfg[loader]['dataset'])
        for key in PATH_KEYS:
            value = dataset.get(key)
            if isinstance(value, str) and value.startswith(old):
                dataset[key] = str(data_root) + value[len(old):]
    cfg.data_root = str(data_root)


def pseudo_label_dir(path, suffix='.png'):
    """The label folder of ``path``: ``path/labels`` for a stage-1 output folder,
    or ``path`` itself when it holds the PNGs; absolute (so no ``data_root``
    is ever prefixed)."""
    path = Path(path).expanduser().resolve()
    if (path / 'labels').is_dir():
        return str(path / 'labels')
    if path.is_dir() and list_labels(path, suffix):
        return str(path)
    raise LabelFolderError(
        f'--pseudo-labels {path}: no labels/ folder and no {suffix} files there; pass the '
        '--out-dir of tools/make_pseudo_labels.py (or its labels/ folder).')


def set_pseudo_labels(cfg, path):
    """Point the training split at a pseudo-label folder (``--pseudo-labels``)."""
    dataset = innermost_dataset(cfg.train_dataloader.dataset)
    dataset['ann_dir'] = pseudo_label_dir(path, dataset.get('seg_map_suffix', '.png'))
    # A folder of PNGs without a manifest is still checked for completeness by
    # file; with manifest='auto' its manifest (if any) is checked as well.
    return dataset['ann_dir']


def dataset_classes(dataset_cfg):
    """Class names a dataset config will have (metainfo override or METAINFO)."""
    dataset_cfg = innermost_dataset(dataset_cfg)
    meta = dataset_cfg.get('metainfo') or {}
    if meta.get('classes'):
        return list(meta['classes'])
    dataset_type = dataset_cfg.get('type')
    cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
    if cls is None:
        return None
    classes = getattr(cls, 'METAINFO', {}).get('classes')
    return list(classes) if classes else None


def check_num_classes(cfg):
    """Every head predicts as many classes as every dataset has: a mismatch
    otherwise shows up as a CUDA assert or a silently wrong mIoU table."""
    model = cfg.model
    if model.get('type') == 'WSSSTTAModel' or 'module' in model:
        model = model['module']
    heads = {'model.decode_head': model.get('decode_head')}
    aux = model.get('auxiliary_head')
    if isinstance(aux, dict):
        heads['model.auxiliary_head'] = aux
    elif isinstance(aux, (list, tuple)):
        heads.update({f'model.auxiliary_head[{i}]': h for i, h in enumerate(aux)})
    for loader in LOADERS:
        if cfg.get(loader) is None:
            continue
        classes = dataset_classes(cfg[loader]['dataset'])
        if classes is None:
            continue
        for name, head in heads.items():
            if head is not None and head.get('num_classes') != len(classes):
                raise ConfigError(
                    f'{name}.num_classes is {head.get("num_classes")} but {loader}\'s dataset '
                    f'({innermost_dataset(cfg[loader]["dataset"]).get("type")}) has '
                    f'{len(classes)} classes (background included); fix num_classes or the '
                    'dataset type in the config.')


def dataset_path(dataset_cfg, key):
    """A dataset path as mmseg will use it: relative paths under its ``data_root``."""
    value = dataset_cfg.get(key)
    if not isinstance(value, str) or not value:
        return None
    root = dataset_cfg.get('data_root')
    return Path(root) / value if root and not Path(value).is_absolute() else Path(value)


_dataset_path = dataset_path


def check_data_folders(cfg, loaders=('train_dataloader',)):
    """The image and label folders of ``loaders`` exist: checked before the
    Runner builds a model, with the flag that fixes each."""
    for loader in loaders:
        if cfg.get(loader) is None:
            continue
        dataset = innermost_dataset(cfg[loader]['dataset'])
        img_dir, ann_dir = _dataset_path(dataset, 'img_dir'), _dataset_path(dataset, 'ann_dir')
        if img_dir is not None and not img_dir.is_dir():
            raise ConfigError(f'{loader}: image folder {img_dir} not found; pass the dataset '
                              'folder with --data-root DIR, or fix data_root in the config.')
        if ann_dir is not None and not ann_dir.is_dir():
            fix = 'pass --pseudo-labels OUT (the --out-dir of tools/make_pseudo_labels.py)' \
                if loader == 'train_dataloader' else 'pass --data-root DIR'
            raise ConfigError(f'{loader}: label folder {ann_dir} not found; {fix}, or fix '
                              'ann_dir in the config.')
