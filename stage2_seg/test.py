"""Evaluate a stage-2 checkpoint the way WSSS papers report (``tools/test_seg.py``).

* single scale by default: the whole image at its original size;
* ``ms``: softmax averaged over the config's ``tta_scales``; ``flip``: and
  over horizontal flips (mmseg's ``TestTimeAug`` + ``WSSSTTAModel``);
* ``crf``: dense CRF over the averaged softmax of all classes (the config's
  ``crf``, default deeplab-pytorch's parameters);
* ``out``: predictions as VOC-palette PNGs (``<id>.png``), e.g. for the VOC
  test server; with ``test_dataloader.dataset.ann_dir=None`` (a split without
  ground truth) only the PNGs are written.

mmseg's ``IoUMetric`` prints the per-class IoU/Acc table and the means.
"""
import copy
from pathlib import Path

from mmengine.logging import print_log
from mmengine.runner import Runner

from wsss_core.checkpoint import CheckpointError, allow_mmengine_checkpoints
from wsss_core.config import ConfigError

from .config_utils import check_num_classes, innermost_dataset, load
from .crf import DEFAULT_CRF

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


def load_test_config(config, checkpoint, work_dir=None, ms=False, flip=False, crf=False,
                     out=None, scales=None, cfg_options=None, launcher='none', data_root=None):
    """The config as the Runner will see it for ``runner.test()``."""
    cfg = load(config, cfg_options=cfg_options, work_dir=work_dir, launcher=launcher,
               data_root=data_root)
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise CheckpointError(f'checkpoint not found: {checkpoint}; pass a .pth written by '
                                'tools/train_seg.py (e.g. work_dirs/<config>/iter_N.pth).')
    cfg.load_from = str(checkpoint)
    cfg.resume = False
    cfg.test_dataloader = copy.deepcopy(cfg.test_dataloader)
    dataset = innermost_dataset(cfg.test_dataloader.dataset)
    has_gt = dataset.get('ann_dir') is not None
    if not has_gt:
        if out is None:
            raise ConfigError('the test split has no labels (ann_dir=None): pass --out DIR to '
                             'write the predictions.')
        dataset['pipeline'] = [t for t in dataset['pipeline']
                               if _type(t) != 'LoadAnnotations']
    if ms or flip or crf:
        scales = tuple(scales or cfg.get('tta_scales') or DEFAULT_TTA_SCALES) if ms else (1.0,)
        dataset['pipeline'] = build_tta_pipeline(dataset['pipeline'], scales=scales, flip=flip)
        cfg.test_dataloader.batch_size = 1
        crf_cfg = dict(cfg.get('crf') or DEFAULT_CRF) if crf else None
        cfg.model = dict(type='WSSSTTAModel', module=cfg.model, crf=crf_cfg)
        print_log(f'test protocol: scales {list(scales)}, flip {bool(flip)}, CRF '
                  f'{crf_cfg if crf else "off"}', logger='current')
    evaluators = cfg.get('test_evaluator') or []
    evaluators = [evaluators] if isinstance(evaluators, dict) else list(evaluators)
    if not has_gt:
        evaluators = [e for e in evaluators if e.get('type') != 'IoUMetric']
    if out is not None:
        evaluators.append(dict(type='PalettePNGWriter', out_dir=str(out)))
    cfg.test_evaluator = evaluators
    check_num_classes(cfg)
    return cfg


def test(config, checkpoint, **kwargs):
    """Run the test loop; returns the metrics dict (``mIoU``, ``mAcc``, ``aAcc``)."""
    cfg = load_test_config(config, checkpoint, **kwargs)
    allow_mmengine_checkpoints()
    runner = Runner.from_cfg(cfg)
    return runner.test()
