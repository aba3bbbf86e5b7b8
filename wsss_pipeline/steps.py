"""The pipeline's steps. Each reads earlier steps' folders and returns a
JSON-able dict that ``run.py`` saves as ``<folder>/step.json``, the mark that
the step is complete (written last, atomically).

``prepare`` is shared by all methods (``W/prepare``); the others run once per
method (``W/<method>/<step>``). A step that was interrupted resumes: the
trainings from their last checkpoint, the pseudo-labels from the images
already written; ``force`` (``--from``/``--only``, or inputs changed since the
folder was made) redoes a step from scratch.
"""
import json
from pathlib import Path

import torch

from stage1_cam.evaluation import DEFAULT_SEED_THRESHOLDS, sweep_thresholds
from stage1_cam.label_report import build_eval_source, report_labels, report_seeds
from stage1_cam.pseudo_labels import run_from_config
from stage1_cam.training import train as train_classifier
from stage2_seg.config_utils import innermost_dataset, load
from stage2_seg.test import test as test_segmentor
from stage2_seg.train import train as train_segmentor

from wsss_core.errors import UserError

from .bookkeeping import StepBook
from .prepare import prepare_dataset
from .settings import stage1_config, stage1_options, stage2_config, stage2_options


class StepError(UserError, RuntimeError):
    """A step that cannot go on: images failed, or an earlier step has not run."""


class MissingStepError(StepError, FileNotFoundError):
    """``--only STEP`` before the steps it reads have finished."""


class Context:
    """What every step needs: the settings, the work dir and the data root."""

    def __init__(self, settings, work_dir, workers):
        self.settings = settings
        self.work_dir = Path(work_dir)
        self.workers = workers
        self.data_root = settings.dataset.data_root
        # Pseudo-labels are made for label_split (e.g. VOC train_aug) and scored on
        # eval_split (e.g. VOC train, as the papers do); default: the same split.
        self.eval_split = settings.get('eval_split') or settings.get('label_split')
        # What made each step, and which records are current (bookkeeping.py).
        self.book = StepBook(self)

    def step_dir(self, step, method=None):
        return self.work_dir / 'prepare' if method is None else self.work_dir / method / step

    def record(self, step, method=None):
        """The saved record (``step.json``) of a finished step, or None."""
        path = self.step_dir(step, method) / 'step.json'
        return json.loads(path.read_text()) if path.is_file() else None

    def result(self, step, method=None):
        """The saved result of a finished step (raises if it has not run)."""
        record = self.record(step, method)
        if record is None:
            raise MissingStepError(f'{self.step_dir(step, method) / "step.json"} missing: step '
                                    f'{step!r} has not finished for {method or "the dataset"}; '
                                    'run without --only.')
        return record['result']

    def current_record(self, step, method=None):
        """The record of a step that is current along with every step before it, or
        None: what the report and figures show."""
        return self.book.current_record(step, method)


# -- prepare -----------------------------------------------------------------

def prepare(ctx, method=None, force=False):
    """Make the dataset folder ready: generate the demo data, convert COCO, check VOC."""
    return prepare_dataset(ctx.settings.dataset, ctx.step_dir('prepare'), ctx.workers,
                           force=force)


# -- stage 1 -----------------------------------------------------------------

def _last_checkpoint(work_dir):
    """The checkpoint mmengine's CheckpointHook named last, or None."""
    pointer = Path(work_dir) / 'last_checkpoint'
    if not pointer.is_file():
        return None
    path = Path(pointer.read_text().strip())
    return path if path.is_file() else None


def _device(name):
    """'auto' -> cuda when torch sees a GPU, else cpu."""
    if name != 'auto':
        return name
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def train_cam(ctx, method, force=False):
    out = ctx.step_dir('train_cam', method)
    resume = not force and _last_checkpoint(out) is not None
    runner = train_classifier(stage1_config(ctx.settings, method), work_dir=str(out),
                              data_root=ctx.data_root, resume=resume,
                              cfg_options=stage1_options(ctx.settings, method))
    checkpoint = _last_checkpoint(out)
    if checkpoint is None:
        raise RuntimeError(f'training finished but {out}/last_checkpoint names no checkpoint; '
                           'keep save_last=True in the CheckpointHook.')
    return {'checkpoint': str(checkpoint), 'epochs': runner.train_loop.max_epochs,
            'iterations': runner.iter, 'resumed': resume}


def make_pseudo_labels(ctx, method, force=False):
    checkpoint = ctx.result('train_cam', method)['checkpoint']
    out = ctx.step_dir('make_pseudo_labels', method)
    manifest = run_from_config(stage1_config(ctx.settings, method), checkpoint, out,
                               split=ctx.settings.get('label_split'), data_root=ctx.data_root,
                               workers=ctx.workers, save_cams=True, overwrite=force,
                               cfg_options=stage1_options(ctx.settings, method),
                               device=_device(ctx.settings.get('pseudo_label_device', 'auto')),
                               threshold_split=ctx.eval_split)
    if manifest['num_failed']:
        raise StepError(f'{manifest["num_failed"]} of {manifest["num_images"]} images failed '
                           f'in {out} (listed in its manifest.json); fix them and re-run.')
    return {'out_dir': str(out), 'num_images': manifest['num_images'],
            'map_kind': manifest['map_kind'], 'scales': manifest['scales'],
            'refine': manifest['refine'],
            'thresholds_derived': manifest.get('thresholds_derived')}


def _unscored(ctx, key):
    """A result for a scoring step with no ground truth to score against
    (``score_labels`` / ``score_segmentation`` False: an own folder without masks)."""
    if ctx.settings.get(key, True):
        return None
    return {'split': None, 'metrics': {}, 'protocols': [],
            'skipped': f'no ground-truth masks ({key}=False)'}


def eval_labels(ctx, method, force=False):
    unscored = _unscored(ctx, 'score_labels')
    if unscored:
        return unscored
    labels_dir = Path(ctx.result('make_pseudo_labels', method)['out_dir'])
    out = ctx.step_dir('eval_labels', method)
    source = build_eval_source(stage1_config(ctx.settings, method),
                               split=ctx.eval_split, data_root=ctx.data_root,
                               cfg_options=stage1_options(ctx.settings, method))
    thresholds = sweep_thresholds(*ctx.settings.get('seed_thresholds', DEFAULT_SEED_THRESHOLDS))
    seeds, seed_text = report_seeds(labels_dir / 'cams', source, out / 'seed_eval.json',
                                    out / 'seed_eval.png', thresholds)
    labels, label_text = report_labels(labels_dir / 'labels', source, out / 'label_eval.json')
    print(f'[{method}] seeds\n{seed_text}\n[{method}] pseudo-labels\n{label_text}')
    return {'split': ctx.eval_split,
            'num_images': seeds['num_images'],
            'seed_miou': seeds['best_miou'], 'best_threshold': seeds['best_threshold'],
            'label_miou': labels['miou'], 'label_uncertain_share': labels['uncertain_share'],
            'label_miou_255_as_background': labels['miou_uncertain_as_background'],
            'seed_eval': str(out / 'seed_eval.json'), 'label_eval': str(out / 'label_eval.json')}


# -- stage 2 -----------------------------------------------------------------

def train_seg(ctx, method, force=False):
    labels_dir = ctx.result('make_pseudo_labels', method)['out_dir']
    out = ctx.step_dir('train_seg', method)
    resume = not force and _last_checkpoint(out) is not None
    runner = train_segmentor(stage2_config(ctx.settings), work_dir=str(out), resume=resume,
                             pseudo_labels=labels_dir, data_root=ctx.data_root,
                             cfg_options=stage2_options(ctx.settings))
    checkpoint = _last_checkpoint(out)
    if checkpoint is None:
        raise RuntimeError(f'training finished but {out}/last_checkpoint names no checkpoint.')
    return {'checkpoint': str(checkpoint), 'iterations': runner.iter, 'resumed': resume}


def test_seg(ctx, method, force=False):
    unscored = _unscored(ctx, 'score_segmentation')
    if unscored:
        return unscored
    checkpoint = ctx.result('train_seg', method)['checkpoint']
    out = ctx.step_dir('test_seg', method)
    metrics = {}
    for protocol in ctx.settings.test_protocols:
        name = protocol['name']
        scores = test_segmentor(stage2_config(ctx.settings), checkpoint,
                                work_dir=str(out / name.replace('+', '_')),
                                data_root=ctx.data_root, ms=protocol.get('ms', False),
                                flip=protocol.get('flip', False), crf=protocol.get('crf', False),
                                scales=protocol.get('scales'),
                                cfg_options=stage2_options(ctx.settings))
        metrics[name] = {key: float(value) for key, value in scores.items()}
    return {'split': _stage2_test_split(ctx), 'metrics': metrics,
            'protocols': [dict(p) for p in ctx.settings.test_protocols]}


def _stage2_test_split(ctx):
    cfg = load(stage2_config(ctx.settings), cfg_options=stage2_options(ctx.settings),
               data_root=ctx.data_root)
    split = innermost_dataset(cfg.test_dataloader.dataset).get('split') or ''
    return Path(str(split)).stem or 'test'


PER_METHOD_STEPS = {'train_cam': train_cam, 'make_pseudo_labels': make_pseudo_labels,
                    'eval_labels': eval_labels, 'train_seg': train_seg, 'test_seg': test_seg}
