"""Evaluate a stage-2 checkpoint the way WSSS papers report (``tools/test_seg.py``).

* single scale by default: the whole image at its original size;
* ``ms``: softmax averaged over the config's ``tta_scales``; ``flip``: and
  over horizontal flips (mmseg's ``TestTimeAug`` + ``WSSSTTAModel``);
* ``tta``: mmseg's ``--tta``: the config's ``tta_pipeline`` and ``tta_model``;
* ``crf``: dense CRF over the averaged softmax of the classes that reach the
  config's ``crf.prob_floor`` (``stage2_seg.crf``; deeplab-pytorch's
  parameters by default), run by ``CRFTestLoop`` in ``crf_workers`` processes
  (the config's ``crf_workers``, default every usable CPU);
* ``out``: predictions as VOC-palette PNGs (``<id>.png``), e.g. for the VOC
  test server; with ``test_dataloader.dataset.ann_dir=None`` (a split without
  ground truth) only the PNGs are written;
* ``show_dir``: mmseg's ``--show-dir`` (the visualisation hook draws image,
  GT and prediction every ``default_hooks.visualization.interval`` images).

``out`` and ``show_dir`` may not be a dataset folder (the image, GT or
label folders of any loader, or a dataset root). cuDNN benchmarking is off:
a test sees every image size of the split, and autotuning each new shape
costs more than it saves. mmseg's ``IoUMetric`` prints the per-class IoU/Acc
table and the means.
"""
import copy
from pathlib import Path

from mmengine.logging import print_log
from mmengine.runner import Runner

from wsss_core.checkpoint import CheckpointError, allow_mmengine_checkpoints
from wsss_core.config import ConfigError
from wsss_core.dataset_files import DATASET_SUBFOLDERS, refuse_write_inside

from .config_utils import LOADERS, check_num_classes, dataset_path, innermost_dataset, load
from .crf import DEFAULT_CRF, check_crf_params
from .crf_test_loop import resolve_workers

DEFAULT_TTA_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)


def _type(transform):
    kind = transform.get('type')
    return kind if isinstance(kind, str) else getattr(kind, '__name__', str(kind))


def build_tta_pipeline(test_pipeline, scales=(1.0,), flip=False):
    """``TestTimeAug`` over ``scales`` x (no flip, flip) from a test pipeline
    ``[LoadImageFromFile, ..., PackSegInputs]``.

    Transforms before ``LoadAnnotations`` run on every view first; then the
    scale, then the flip; annotations are loaded after, unresized (the
    segmentor maps every view's scores back to the original size)."""
    pipeline = [dict(t) for t in test_pipeline]
    if not pipeline or not _type(pipeline[0]).startswith('LoadImage') \
            or _type(pipeline[-1]) != 'PackSegInputs':
        raise ConfigError('the test pipeline must start with LoadImageFromFile and end with '
                         f'PackSegInputs to build the multi-scale/flip test; got '
                         f'{[_type(t) for t in pipeline]}')
    middle = pipeline[1:-1]
    split = next((i for i, t in enumerate(middle) if _type(t) == 'LoadAnnotations'), len(middle))
    transforms = [[t] for t in middle[:split]]
    if tuple(scales) != (1.0,):
        transforms.append([dict(type='Resize', scale_factor=float(s), keep_ratio=True)
                           for s in scales])
    if flip:
        transforms.append([dict(type='RandomFlip', prob=0.0, direction='horizontal'),
                           dict(type='RandomFlip', prob=1.0, direction='horizontal')])
    transforms += [[t] for t in middle[split:]]
    transforms.append([pipeline[-1]])
    return [pipeline[0], dict(type='TestTimeAug', transforms=transforms)]


def _without_annotations(pipeline):
    """``pipeline`` without ``LoadAnnotations``, also inside ``TestTimeAug``."""
    out = []
    for t in pipeline:
        if _type(t) == 'LoadAnnotations':
            continue
        if _type(t) == 'TestTimeAug':
            groups = [[v for v in group if _type(v) != 'LoadAnnotations']
                      for group in t['transforms']]
            t = dict(t, transforms=[g for g in groups if g])
        out.append(t)
    return out


def dataset_write_guard(cfg):
    """(roots, folders) no test output may be written into: every loader's
    image and label folders, the config's dataset roots and their VOC-layout
    subfolders (``wsss_core.dataset_files.DATASET_SUBFOLDERS``)."""
    roots = {cfg.get('data_root'), cfg.get('prepared_root')}
    folders = []
    for loader in LOADERS:
        if cfg.get(loader) is None:
            continue
        dataset = innermost_dataset(cfg[loader]['dataset'])
        roots.add(dataset.get('data_root'))
        folders += [dataset_path(dataset, 'img_dir'), dataset_path(dataset, 'ann_dir')]
    roots = [Path(r) for r in roots if isinstance(r, str) and r]
    folders += [root / name for root in roots for name in DATASET_SUBFOLDERS]
    return roots, folders


def refuse_dataset_output(cfg, path, what):
    """A DatasetError (a UserError) when ``path`` lies in the config's datasets."""
    roots, folders = dataset_write_guard(cfg)
    refuse_write_inside(path, roots, folders, what)


def show_predictions(cfg, show_dir):
    """mmseg's ``--show-dir``: the visualisation hook draws, the visualizer
    saves under ``show_dir``."""
    hooks = cfg.get('default_hooks') or {}
    if 'visualization' not in hooks:
        raise ConfigError("--show-dir needs default_hooks.visualization (e.g. "
                          "dict(type='SegVisualizationHook')) in the config.")
    hooks['visualization']['draw'] = True
    cfg.visualizer['save_dir'] = str(show_dir)


def _tta_from_config(cfg, dataset):
    """mmseg's ``--tta``: the config's ``tta_pipeline`` and ``tta_model``."""
    missing = [key for key in ('tta_pipeline', 'tta_model') if cfg.get(key) is None]
    if missing:
        raise ConfigError(f'--tta needs {" and ".join(missing)} in the config (mmseg '
                          'convention); or use --ms/--flip, which build them.')
    dataset['pipeline'] = copy.deepcopy(cfg.tta_pipeline)
    model = dict(copy.deepcopy(cfg.tta_model))
    model['module'] = cfg.model
    return model


def load_test_config(config, checkpoint, work_dir=None, ms=False, flip=False, crf=False,
                     out=None, scales=None, cfg_options=None, launcher='none', data_root=None,
                     tta=False, show_dir=None, crf_workers=None):
    """The config as the Runner will see it for ``runner.test()``.

    ``crf_workers``: CRF processes (None: the config's ``crf_workers``,
    default ``'auto'`` = every usable CPU; 0: in the test process)."""
    cfg = load(config, cfg_options=cfg_options, work_dir=work_dir, launcher=launcher,
               data_root=data_root)
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise CheckpointError(f'checkpoint not found: {checkpoint}; pass a .pth written by '
                                'tools/train_seg.py (e.g. work_dirs/<config>/iter_N.pth).')
    if tta and (ms or flip):
        raise ConfigError('--tta takes the config\'s tta_pipeline; do not combine it with '
                          '--ms/--flip (which build one from tta_scales).')
    for path, what in ((out, '--out'), (show_dir, '--show-dir')):
        if path is not None:
            refuse_dataset_output(cfg, path, what)
    cfg.load_from = str(checkpoint)
    cfg.resume = False
    cfg.env_cfg = dict(cfg.get('env_cfg') or {}, cudnn_benchmark=False)
    cfg.test_dataloader = copy.deepcopy(cfg.test_dataloader)
    dataset = innermost_dataset(cfg.test_dataloader.dataset)
    has_gt = dataset.get('ann_dir') is not None
    if not has_gt and out is None:
        raise ConfigError('the test split has no labels (ann_dir=None): pass --out DIR to '
                         'write the predictions.')
    if tta:
        cfg.model = _tta_from_config(cfg, dataset)
        cfg.test_dataloader.batch_size = 1
    elif ms or flip or crf:
        scales = tuple(scales or cfg.get('tta_scales') or DEFAULT_TTA_SCALES) if ms else (1.0,)
        dataset['pipeline'] = build_tta_pipeline(dataset['pipeline'], scales=scales, flip=flip)
        cfg.test_dataloader.batch_size = 1
        cfg.model = dict(type='WSSSTTAModel', module=cfg.model, crf=None)
    if not has_gt:
        dataset['pipeline'] = _without_annotations(dataset['pipeline'])
    crf_cfg = None
    if crf:
        if cfg.model.get('type') != 'WSSSTTAModel':
            raise ConfigError(f'--crf needs the averaged softmax of WSSSTTAModel; the config\'s '
                              f'tta_model is {cfg.model.get("type")}: set '
                              "tta_model=dict(type='WSSSTTAModel').")
        crf_cfg = dict(cfg.get('crf') or DEFAULT_CRF)
        check_crf_params(crf_cfg)
        cfg.model['crf'] = None   # the CRF runs in the test loop's workers
        workers = resolve_workers(cfg.get('crf_workers', 'auto') if crf_workers is None
                                  else crf_workers)
        fp16 = (cfg.get('test_cfg') or {}).get('fp16', False)
        cfg.test_cfg = dict(type='CRFTestLoop', crf=crf_cfg, workers=workers, fp16=fp16)
    if tta or ms or flip or crf:
        views = 'tta_pipeline' if tta else f'scales {list(scales)}, flip {bool(flip)}'
        print_log(f'test protocol: {views}, CRF '
                  f'{dict(crf_cfg, workers=cfg.test_cfg["workers"]) if crf else "off"}',
                  logger='current')
    evaluators = cfg.get('test_evaluator') or []
    evaluators = [evaluators] if isinstance(evaluators, dict) else list(evaluators)
    if not has_gt:
        evaluators = [e for e in evaluators if e.get('type') != 'IoUMetric']
    if out is not None:
        evaluators.append(dict(type='PalettePNGWriter', out_dir=str(out)))
    cfg.test_evaluator = evaluators
    if show_dir is not None:
        show_predictions(cfg, show_dir)
    check_num_classes(cfg)
    # A test needs no training side; without it the Runner cannot build it by
    # accident (mmseg's visualisation hook asks runner.iter, which builds the
    # train loop and its dataset: pseudo-labels that need not exist here).
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler'):
        cfg[key] = None
    return cfg


def test(config, checkpoint, **kwargs):
    """Run the test loop; returns the metrics dict (``mIoU``, ``mAcc``, ``aAcc``)."""
    cfg = load_test_config(config, checkpoint, **kwargs)
    allow_mmengine_checkpoints()
    runner = Runner.from_cfg(cfg)
    return runner.test()
