"""WSOL evaluation of a trained classifier over a split (``tools/eval_wsol.py``).

Settings come from the config's ``wsol`` dict (defaults in ``DEFAULT_SETTINGS``):

* ``split`` / ``source``: the images (default: the training source with
  ``split`` replaced); the source must offer ``boxes(id)``;
* ``input_size``: the square size the whole image is resized to;
* ``map_kind``, ``map_classes``, ``topk``: see ``localize.py``;
* ``fixed_threshold``: tau of Top-1/Top-5/GT-known Loc (largest component);
* ``threshold_step``, ``iou_thresholds``: MaxBoxAccV2's tau sweep
  ``arange(0, 1, step)`` and its deltas in percent.

The result JSON holds the metrics (fractions in [0, 1]), the settings and
the checkpoint's sha256. The accumulated counts are saved beside it
(``<out>.partial.json``) every ``save_every_s`` seconds, so a killed run
re-run with the same command continues where it stopped.
"""
import json
import logging
import os
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from wsss_core.errors import UserError
from wsss_core.io import read_json, sha256_of, write_json

from ..config import load_stage1_config
from ..datasets.classification import build_source
from ..datasets.transforms import resize_image, to_chw_tensor
from ..maps import load_classifier
from . import cub, imagenet, localize  # noqa: F401  (cub, imagenet: register the sources)
from .metrics import LocalizationAccumulator, default_thresholds

logger = logging.getLogger(__name__)

DEFAULT_SETTINGS = dict(split='test', source=None, input_size=224, map_kind=None,
                        map_classes='gt', topk=1, fixed_threshold=0.2, threshold_step=0.001,
                        iou_thresholds=(30, 50, 70), batch_size=16, num_workers=0)


class WSOLEvalError(UserError, RuntimeError):
    """An evaluation that cannot start; the message says what to do."""


class ResizedImages(Dataset):
    """(uint8 (3, S, S) image, index, original (H, W)) of a source, in id order."""

    def __init__(self, source, ids, input_size):
        self.source, self.ids, self.input_size = source, ids, int(input_size)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, index):
        image = self.source.image(self.ids[index])
        resized = resize_image(image, (self.input_size, self.input_size), 'bilinear')
        return to_chw_tensor(resized), index, torch.tensor(image.shape[:2])


def wsol_settings(cfg, split=None):
    settings = {**DEFAULT_SETTINGS, **dict(cfg.get('wsol', {}))}
    unknown = set(settings) - set(DEFAULT_SETTINGS)
    if unknown:
        raise WSOLEvalError(f'unknown wsol settings {sorted(unknown)}; known: '
                            f'{sorted(DEFAULT_SETTINGS)}')
    if split is not None:
        settings['split'] = split
    return settings


def eval_source_config(cfg, settings):
    """``wsol.source`` or the training source, with the split applied (the
    data root is the loaded config's, ``stage1_cam.config``)."""
    source_cfg = dict(settings['source'] or cfg.train_dataloader.dataset.source)
    source_cfg['split'] = settings['split']
    return source_cfg


def _load_partial(path, header):
    if not path.is_file():
        return None
    state = read_json(path)
    if state.get('header') != header:
        logger.warning('%s was made with other settings or another checkpoint; starting over',
                       path)
        return None
    return state


def evaluate_wsol(model, source, settings, out_json, header=None, device='cpu', progress=True,
                  save_every_s=60.0):
    """Evaluate ``model`` on every image of ``source``; write and return the result dict."""
    settings = {**DEFAULT_SETTINGS, **settings}
    if settings['map_kind'] is None:
        settings['map_kind'] = model.default_map_kind
    localize.check_settings(model, settings['map_kind'], settings['map_classes'],
                            settings['topk'], source.num_classes)
    if not hasattr(source, 'boxes'):
        raise WSOLEvalError(f'{type(source).__name__} has no boxes; WSOL evaluation needs a '
                            'box-labelled source (type CUB or ImageNet).')
    settings['iou_thresholds'] = [int(d) for d in settings['iou_thresholds']]
    accumulator = LocalizationAccumulator(
        default_thresholds(settings['threshold_step']),
        [d / 100 for d in settings['iou_thresholds']], settings['fixed_threshold'])
    out_json = Path(out_json)
    partial_path = out_json.with_name(out_json.name + '.partial.json')
    header = {**(header or {}), 'settings': {k: v for k, v in settings.items() if k != 'source'},
              'num_images': len(source.ids)}
    header = json_roundtrip(header)
    state = _load_partial(partial_path, header)
    done = 0
    if state is not None:
        accumulator.load_state(state['accumulator'])
        done = int(state['done'])
        logger.info('resuming: %d of %d images already evaluated', done, len(source.ids))

    def save_partial(count):
        write_json(partial_path, {'header': header, 'done': count,
                                  'accumulator': accumulator.state()})

    loader = DataLoader(ResizedImages(source, source.ids[done:], settings['input_size']),
                        batch_size=int(settings['batch_size']),
                        num_workers=int(settings['num_workers']), shuffle=False)
    model = model.to(device).eval()
    last_save = time.monotonic()
    with tqdm(total=len(source.ids), initial=done, desc='wsol eval', unit='img',
              disable=not progress, dynamic_ncols=True) as bar:
        for images, indices, sizes in loader:
            inputs = model.data_preprocessor({'inputs': images.to(device)}, False)['inputs']
            maps, probabilities = localize.predict_maps(model, inputs, settings['map_kind'])
            for row in range(len(indices)):
                image_id = source.ids[done + int(indices[row])]
                gt_class = source.labels(image_id)[0]
                class_map = localize.select_map(maps[row], probabilities[row], gt_class,
                                                settings['map_classes'], settings['topk'])
                scoremap = localize.localization_map(class_map, sizes[row].tolist())
                accumulator.add(scoremap, source.boxes(image_id), gt_class,
                                localize.top_classes(probabilities[row], 5))
            bar.update(len(indices))
            if time.monotonic() - last_save > save_every_s:
                save_partial(done + int(indices[-1]) + 1)
                last_save = time.monotonic()
    result = {**header, 'metrics': accumulator.summary(), 'out_json': str(out_json)}
    write_json(out_json, result)
    if partial_path.is_file():
        os.unlink(partial_path)
    return result


def format_metrics(metrics):
    """A short text table of the metrics in percent."""
    lines = [f"images: {metrics['num_images']}"]
    for key in ('top1_loc', 'top5_loc', 'gt_known_loc', 'top1_cls', 'top5_cls', 'maxboxacc_v2'):
        lines.append(f'{key:>14}: {100 * metrics[key]:6.2f}')
    for delta, value in metrics['maxboxacc_per_iou'].items():
        tau = metrics['best_threshold_per_iou'][delta]
        lines.append(f'{"MaxBoxAcc@" + delta:>14}: {100 * value:6.2f}  (best tau {tau:.3f})')
    return '\n'.join(lines)


def json_roundtrip(value):
    """``value`` as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(value))


def run_from_config(config, checkpoint, split=None, data_root=None, out_json=None,
                    cfg_options=None, device='cpu', progress=True):
    """``tools/eval_wsol.py``: evaluate a WSOL config's checkpoint; returns the result dict."""
    cfg = load_stage1_config(config, data_root=data_root, cfg_options=cfg_options)
    settings = wsol_settings(cfg, split)
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise WSOLEvalError(f'checkpoint not found: {checkpoint}; pass the .pth written by '
                            'tools/train_cam.py (e.g. work_dirs/<config>/epoch_N.pth).')
    source_cfg = eval_source_config(cfg, settings)
    source = build_source(source_cfg)
    model = load_classifier(cfg, checkpoint, device=device)
    out_json = Path(out_json) if out_json else \
        checkpoint.parent / f'wsol_{settings["split"]}_{checkpoint.stem}.json'
    header = {'method': type(model).__name__, 'config': str(config),
              'checkpoint': str(checkpoint), 'checkpoint_sha256': sha256_of(checkpoint),
              'source': source_cfg}
    return evaluate_wsol(model, source, settings, out_json, header=header, device=device,
                         progress=progress)


__all__ = ['evaluate_wsol', 'run_from_config', 'wsol_settings', 'format_metrics',
           'WSOLEvalError']
