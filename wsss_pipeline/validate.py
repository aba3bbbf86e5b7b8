"""Every chosen method's stage-1 config and the stage-2 config, checked before
any step runs, so that a wrong class count, data root, split list or missing
weights file fails in seconds, not after the first method's training.

``validate_pipeline(settings)`` builds each config as the steps will (the
file, ``--data-root``, the pipeline's options) and collects every problem:

* stage 1, per method: the checks of ``stage1_cam.config_check`` (method and
  source registered, ``model.num_classes`` against the dataset and its source,
  map kind), for the training source and the sources of ``label_split`` and
  ``eval_split``; the split lists of VOC-layout sources; the backbone's
  ImageNet weights can be found (``pretrained=True`` or a path);
* stage 2: every head's class count against every dataset
  (``check_num_classes``), and the training classes against each method's
  (stage 1's classes + background); the image folders and split lists of its
  loaders; the backbone's ``TorchvisionPretrained`` weights;
* for VOC, the split lists, and that ``eval_split`` lies within
  ``label_split`` (the images scored get pseudo-labels);
* the dataset folder, unless the ``prepare`` step makes it (``demo``,
  ``coco_demo``; for ``coco`` the prepared folder beside it), in which case
  its paths are checked when the steps read them.

All problems are raised together as one ``PipelineValidationError``, one line
each, naming the config and the key to fix.
"""
from pathlib import Path

from stage1_cam.config import load_stage1_config
from stage1_cam.config_check import check_source, validate_stage1_config
from stage1_cam.pseudo_labels import source_config
from stage2_seg.config_utils import (LOADERS, check_data_folders, check_num_classes,
                                     dataset_classes, innermost_dataset)
from stage2_seg.config_utils import move_data_root as move_stage2_data_root
from wsss_core.config import load_config
from wsss_core.dataset_files import read_split_list
from wsss_core.errors import UserError
from wsss_core.torchvision_weights import CHECKPOINT_PATTERNS, locate_weights

from .settings import (PipelineConfigError, stage1_config, stage1_options, stage2_config,
                       stage2_options)

# Dataset kinds whose folder the prepare step writes (so it may not exist yet).
GENERATED_KINDS = ('demo', 'coco_demo')
VOC_LAYOUT_SOURCES = ('VOC', 'Demo')


class PipelineValidationError(PipelineConfigError):
    """Problems found in the chosen configs before any step ran; one line each."""

    def __init__(self, config, problems):
        self.problems = list(problems)
        super().__init__(f'{len(self.problems)} problem(s) in the configs of {config}, found '
                         'before any step ran:\n' + '\n'.join(f'  - {p}' for p in self.problems))


def _data_ready(settings):
    """Whether the dataset's folders exist now (otherwise prepare makes them)."""
    dataset = settings.dataset
    if dataset.kind in GENERATED_KINDS:
        return Path(dataset.data_root).exists() and dataset.kind == 'demo'
    if dataset.kind == 'coco':
        prepared = Path(dataset.get('prepared_root') or f'{dataset.data_root}_wsss')
        return prepared.exists()
    return Path(dataset.data_root).exists()   # if not, check_dataset says so, once


def _split_file(source_cfg):
    if source_cfg.get('type') not in VOC_LAYOUT_SOURCES or not source_cfg.get('data_root'):
        return None
    if source_cfg.get('split_file'):
        return Path(source_cfg['split_file'])
    split = source_cfg.get('split') or 'train'
    return Path(source_cfg['data_root']) / 'ImageSets' / 'Segmentation' / f'{split}.txt'


def _check_split_file(source_cfg, what):
    path = _split_file(source_cfg)
    if path is not None and not path.is_file():
        raise PipelineConfigError(f'{what}: split list {path} not found; add it, or fix the '
                                  'split name (label_split / eval_split) or the data root.')


def check_stage1(settings, method, data_ready):
    """Every problem of one method's stage-1 config: a list of lines."""
    path = stage1_config(settings, method)
    problems = []

    def problem(err):
        problems.append(f'{method} ({Path(path).name}): {err}')

    try:
        cfg = load_stage1_config(path, data_root=settings.dataset.data_root,
                                 cfg_options=stage1_options(settings, method))
    except Exception as err:  # a syntax error or a bad option: reported, not raised
        problem(f'cannot load the config: {type(err).__name__}: {err}')
        return problems, None
    num_classes = cfg.model.get('num_classes')
    try:
        validate_stage1_config(cfg, check_paths=data_ready)
        if data_ready:
            _check_split_file(cfg.train_dataloader.dataset.source,
                              'train_dataloader.dataset.source')
        source_classes = num_classes
    except UserError as err:
        problem(err)
        source_classes = None   # a class-count problem is reported once
    splits = {settings.get('label_split'), settings.get('eval_split') or
              settings.get('label_split')} - {None}
    for split in sorted(splits):
        try:
            source_cfg = source_config(cfg, split=split)
            check_source(source_cfg, f'pseudo_label.source (split {split!r})', source_classes,
                         check_paths=data_ready)
            if data_ready:
                _check_split_file(source_cfg, f'pseudo_label.source (split {split!r})')
        except UserError as err:
            problem(err)
    backbone = cfg.model.get('backbone') or {}
    if backbone.get('type') in CHECKPOINT_PATTERNS:
        try:
            locate_weights(backbone['type'], backbone.get('pretrained', True))
        except UserError as err:
            problem(err)
    return problems, num_classes


def check_stage2(settings, data_ready, stage1_classes):
    """Every problem of the stage-2 config: a list of lines."""
    path = stage2_config(settings)
    problems = []

    def problem(err):
        problems.append(f'stage 2 ({Path(path).name}): {err}')

    try:
        cfg = load_config(path, data_root=settings.dataset.data_root,
                          move_data_root=move_stage2_data_root,
                          cfg_options=stage2_options(settings))
    except Exception as err:  # a syntax error or a bad option: reported, not raised
        problem(f'cannot load the config: {type(err).__name__}: {err}')
        return problems
    try:
        check_num_classes(cfg)
    except UserError as err:
        problem(err)
    classes = dataset_classes(cfg.train_dataloader.dataset)
    for method, num_classes in stage1_classes.items():
        if classes is not None and num_classes is not None and len(classes) != num_classes + 1:
            problem(f'its training dataset has {len(classes)} classes (background included) but '
                    f'{method}\'s stage-1 model has {num_classes} (+ background = '
                    f'{num_classes + 1}); use the stage-2 config of the same dataset.')
    if data_ready:
        for loader in LOADERS:
            if cfg.get(loader) is None:
                continue
            dataset = innermost_dataset(cfg[loader]['dataset'])
            if loader == 'train_dataloader':   # its labels are made by make_pseudo_labels
                dataset = {k: v for k, v in dataset.items() if k != 'ann_dir'}
            try:
                check_data_folders({loader: {'dataset': dataset}}, (loader,))
            except UserError as err:
                problem(err)
            split = dataset.get('split')
            if isinstance(split, str) and split:
                root = dataset.get('data_root')
                split_path = Path(root) / split if root and not Path(split).is_absolute() \
                    else Path(split)
                if not split_path.is_file():
                    problem(f'{loader}: split list {split_path} not found; fix the split in the '
                            'config or the data root.')
    init = (cfg.model.get('backbone') or {}).get('init_cfg') or {}
    if isinstance(init, dict) and init.get('type') == 'TorchvisionPretrained' and \
            init.get('arch') in CHECKPOINT_PATTERNS:
        try:
            locate_weights(init['arch'], init.get('checkpoint') or True)
        except UserError as err:
            problem(str(err).replace('model.backbone.pretrained',
                                     'model.backbone.init_cfg.checkpoint'))
    return problems


def check_dataset(settings):
    """The dataset folder the pipeline reads (a user's folder, not a generated one)."""
    dataset = settings.dataset
    root = Path(dataset.data_root)
    if dataset.kind in GENERATED_KINDS:
        return []
    if not root.exists():
        return [f'dataset.data_root {root} does not exist; pass the dataset folder with '
                '--data-root DIR, or fix dataset.data_root in the pipeline config.']
    problems = []
    if dataset.kind == 'voc':
        wanted = list(dataset.get('splits', ()))
        for split in (settings.get('label_split'), settings.get('eval_split')):
            if split and split not in wanted:
                wanted.append(split)
        for split in wanted:
            path = root / 'ImageSets' / 'Segmentation' / f'{split}.txt'
            if not path.is_file():
                problems.append(f'{path} missing: VOC split lists go in ImageSets/Segmentation/ '
                                "(train_aug.txt from IRN's voc12/ folder).")
        problems += _eval_split_covered(settings, root / 'ImageSets' / 'Segmentation')
    return problems


def _eval_split_covered(settings, lists):
    """The split scored (eval_split) must get pseudo-labels (be within label_split)."""
    label_split, eval_split = settings.get('label_split'), settings.get('eval_split')
    label_file, eval_file = lists / f'{label_split}.txt', lists / f'{eval_split}.txt'
    if not (label_split and eval_split and label_file.is_file() and eval_file.is_file()):
        return []
    labelled = set(read_split_list(label_file))
    outside = [i for i in read_split_list(eval_file) if i not in labelled]
    if not outside:
        return []
    return [f'eval_split {eval_split!r} has {len(outside)} image(s) outside label_split '
            f'{label_split!r} (first: {", ".join(outside[:3])}), which get no pseudo-label to '
            'score; choose an eval_split within label_split.']


def validate_pipeline(settings):
    """Raise ``PipelineValidationError`` listing every problem found (see the module
    docstring); return None when there is none."""
    data_ready = _data_ready(settings)
    problems = check_dataset(settings)
    stage1_classes = {}
    for method in settings.chosen_methods:
        found, num_classes = check_stage1(settings, method, data_ready)
        problems += found
        stage1_classes[method] = num_classes
    problems += check_stage2(settings, data_ready, stage1_classes)
    problems = list(dict.fromkeys(problems))   # the same line from two configs: once
    if problems:
        raise PipelineValidationError(settings.config_path, problems)
