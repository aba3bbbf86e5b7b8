"""Early checks of a stage-1 config: what would otherwise fail minutes (or
hours) into a run is reported before any data is read or model built.

``validate_stage1_config(cfg)`` runs in ``training.train`` and
``pseudo_labels.run_from_config`` (and so in ``tools/train_cam.py`` and
``tools/make_pseudo_labels.py``). It checks names and numbers only, cheaply:

* the method (``model.type``) and the image source type are registered;
* ``model.num_classes`` equals the training dataset's ``num_classes`` and,
  where the source type fixes it (VOC: its ``class_names``, 20 by default;
  Demo: 6), the source's class count;
* the dataset folder exists (the message names the ``--data-root`` flag);
* ``pseudo_label.map_kind`` is known and the model produces such maps.

Anything needing the data itself (labels, image files) is checked when the
source is built, still before training starts.
"""
from pathlib import Path

from mmengine.utils import import_modules_from_strings

from wsss_core.classes import DEMO_CLASSES, VOC_CLASSES
from wsss_core.config import ConfigError

from . import datasets, models  # noqa: F401  (register the sources and the methods)
from .registry import MODELS, SOURCES


# Where the source type fixes the class count, without reading any file.
def _source_num_classes(source_cfg):
    kind = source_cfg.get('type')
    if kind == 'VOC':
        return len(source_cfg.get('class_names') or VOC_CLASSES)
    if kind == 'Demo':
        return len(DEMO_CLASSES)
    return None  # COCO-format files carry their own category list


def _registered(registry, name, key):
    if not isinstance(name, str):
        return registry.get(name.__name__) if isinstance(name, type) else None
    cls = registry.get(name)
    if cls is None:
        known = ', '.join(sorted(registry.module_dict))
        raise ConfigError(f'{key}={name!r} is not registered; known: {known}. Fix the name in '
                          'the config (or --cfg-options).')
    return cls


def check_model(model_cfg):
    """The model's class, checked to be a registered stage-1 method."""
    if not model_cfg or 'type' not in model_cfg:
        raise ConfigError('the config has no model.type; base it on a configs/stage1/_base_/'
                          'models file.')
    return _registered(MODELS, model_cfg['type'], 'model.type')


def check_source(source_cfg, key, num_classes=None, check_paths=True):
    """A source config: registered type, class count, existing folders
    (``check_paths=False``: not yet, e.g. before the pipeline generates them)."""
    if not isinstance(source_cfg, dict) or 'type' not in source_cfg:
        raise ConfigError(f'{key} must be a dict with a type (VOC, COCO, Demo), '
                          f'got {source_cfg!r}.')
    _registered(SOURCES, source_cfg['type'], f'{key}.type')
    expected = _source_num_classes(source_cfg)
    if num_classes is not None and expected is not None and expected != num_classes:
        raise ConfigError(
            f'model.num_classes is {num_classes} but the {source_cfg["type"]} source ({key}) has '
            f'{expected} classes; set model.num_classes and the dataset\'s num_classes to '
            f'{expected}, or use the source of the dataset the model is meant for.')
    roots = ('data_root',) if source_cfg.get('data_root') else ('image_dir', 'ann_file')
    for root_key in roots if check_paths else ():
        value = source_cfg.get(root_key)
        if isinstance(value, (str, Path)) and not Path(value).exists():
            hint = f' (make the demo data with: python3 tools/prepare_demo_data.py --out ' \
                f'{value})' if source_cfg['type'] == 'Demo' else ''
            raise ConfigError(f'{key}.{root_key} {value} does not exist. Pass the dataset folder '
                              f'with --data-root DIR, or fix data_root in the config{hint}.')


def known_map_kinds():
    """Every map kind some registered method declares (its ``map_kinds``)."""
    kinds = set()
    for cls in MODELS.module_dict.values():
        kinds.update(getattr(cls, 'map_kinds', ()))
    return sorted(kinds)


# What a map kind is made with, for the message when a method lacks it.
_MADE_WITH = {'bas': 'a BAS generator', 'fused': 'a BAS generator'}


def check_map_kind(cfg, model_cls):
    map_kind = (cfg.get('pseudo_label') or {}).get('map_kind')
    if map_kind is None:
        return
    known = known_map_kinds()
    if map_kind not in known:
        raise ConfigError(f'pseudo_label.map_kind={map_kind!r} is unknown; choose one of '
                          f'{", ".join(known)}.')
    if model_cls is not None and map_kind not in model_cls.map_kinds:
        made_with = _MADE_WITH.get(map_kind, f'{map_kind!r} maps')
        raise ConfigError(f'pseudo_label.map_kind={map_kind!r} needs {made_with}, which '
                          f'{model_cls.__name__} does not have; use map_kind='
                          f'{model_cls.default_map_kind!r} (its map_kinds: '
                          f'{", ".join(model_cls.map_kinds)}).')


def method_class(cfg):
    """The registered class of a stage-1 config's ``model.type`` (after the
    config's ``custom_imports``, which may register it): its declarations
    (``map_kinds``, ``default_map_kind``, ``title``, ``default_refine``)
    describe the method to every step."""
    imports = cfg.get('custom_imports')
    if imports:  # the config's own modules register its methods and sources
        import_modules_from_strings(**imports)
    return check_model(cfg.get('model'))


def validate_stage1_config(cfg, training=True, source_cfg=None, check_paths=True):
    """Raise ConfigError on the first problem (see the module docstring).

    ``training``: also check the training loader; ``source_cfg``: the source
    a non-training step reads (default: the training source); ``check_paths``:
    also that the dataset folder exists.
    """
    model_cls = method_class(cfg)
    num_classes = cfg.model.get('num_classes')
    dataset = (cfg.get('train_dataloader') or {}).get('dataset') or {}
    if training:
        if not dataset:
            raise ConfigError('the config has no train_dataloader.dataset; base it on a '
                              'configs/stage1/_base_/datasets file.')
        if dataset.get('num_classes') != num_classes:
            raise ConfigError(
                f'model.num_classes is {num_classes} but train_dataloader.dataset.num_classes '
                f'is {dataset.get("num_classes")}; set both to the dataset\'s class count '
                '(VOC 20, COCO 80, demo 6).')
    source = source_cfg if source_cfg is not None else dataset.get('source')
    check_source(source, 'train_dataloader.dataset.source' if source_cfg is None else
                 'pseudo_label.source', num_classes, check_paths=check_paths)
    check_map_kind(cfg, model_cls)
