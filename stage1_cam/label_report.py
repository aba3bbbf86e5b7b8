"""``tools/eval_labels.py``: score a maps folder (seeds) or a label folder."""
from pathlib import Path

from wsss_core.io import write_json

from .config import load_stage1_config
from .config_check import validate_stage1_config
from .datasets.base import refuse_dataset_path
from .datasets.classification import build_source
from .evaluation import (check_complete, evaluate_label_dir, evaluate_seed_dir, missing_ids,
                         plot_sweep)
from .pseudo_labels import source_config


def build_eval_source(config, split=None, data_root=None, cfg_options=None):
    """The image source of a stage-1 config (its pseudo-label source), for its GT."""
    cfg = load_stage1_config(config, data_root=data_root, cfg_options=cfg_options)
    source_cfg = source_config(cfg, split=split)
    validate_stage1_config(cfg, training=False, source_cfg=source_cfg)
    return build_source(source_cfg)


def format_table(class_names, iou):
    rows = [f'{"class":<16}{"IoU":>8}']
    for name in class_names:
        value = iou.get(name)
        rows.append(f'{name:<16}{"-" if value is None else f"{100 * value:.2f}":>8}')
    return '\n'.join(rows)


def _missing(folder, suffix, source, what, allow_partial):
    """The split's ids without a file: an error unless ``allow_partial``."""
    if allow_partial:
        return missing_ids(folder, suffix, source)
    return check_complete(folder, suffix, source, what)


def partial_lines(missing, source):
    """'partial: N of M images scored' when files were missing, else nothing."""
    if not missing:
        return []
    return [f'partial (--allow-partial): scored the {len(source.ids) - len(missing)} of '
            f'{len(source.ids)} images of the split that have files; {len(missing)} missing '
            f'(first: {", ".join(missing[:5])})']


def report_seeds(cams_dir, source, out_json=None, plot=None, thresholds=None,
                 allow_partial=False):
    """Sweep, print the curve and best threshold, write JSON and the plot.

    A folder that lacks the maps of some images of the split is an
    ``IncompleteFolderError`` unless ``allow_partial`` (then the result says so)."""
    missing = _missing(cams_dir, '.npz', source, 'maps', allow_partial)
    result = evaluate_seed_dir(cams_dir, source, thresholds=thresholds)
    result.update(partial=bool(missing), first_missing_ids=missing[:100])
    lines = ['threshold  mIoU']
    for t, m in zip(result['thresholds'], result['miou']):
        lines.append(f'{t:9.2f}  {"-" if m is None else f"{100 * m:.2f}"}')
    lines.append(f'best: {100 * result["best_miou"]:.2f} mIoU at background threshold '
                 f'{result["best_threshold"]:.2f} ({result["num_images"]} images)')
    names = ['background'] + list(source.class_names)
    lines.append(format_table(names, result['best']['iou']))
    lines += partial_lines(missing, source)
    lines += failure_lines(result)
    out_json = Path(out_json or Path(cams_dir).parent / 'seed_eval.json')
    plot = Path(plot or out_json.with_suffix('.png'))
    refuse_dataset_path(out_json, source, '--out-json', is_file=True)
    refuse_dataset_path(plot, source, '--plot', is_file=True)
    write_json(out_json, result)
    plot_sweep(result, plot)
    return result, '\n'.join(lines)


def report_labels(labels_dir, source, out_json=None, allow_partial=False):
    """Pseudo-label mIoU (see ``report_seeds`` for ``allow_partial``)."""
    missing = _missing(labels_dir, '.png', source, 'labels', allow_partial)
    result = evaluate_label_dir(labels_dir, source)
    result.update(partial=bool(missing), first_missing_ids=missing[:100])
    names = ['background'] + list(source.class_names)
    lines = [format_table(names, result['iou']),
             f'mIoU {100 * result["miou"]:.2f} over decided pixels; '
             f'255 (uncertain) share {100 * result["uncertain_share"]:.2f}% '
             f'(coverage {100 * result["coverage"]:.2f}%); '
             f'with 255 as background: {100 * result["miou_uncertain_as_background"]:.2f} '
             f'({result["num_images"]} images)']
    lines += partial_lines(missing, source)
    lines += failure_lines(result)
    out_json = Path(out_json or Path(labels_dir).parent / 'label_eval.json')
    refuse_dataset_path(out_json, source, '--out-json', is_file=True)
    write_json(out_json, result)
    return result, '\n'.join(lines)


def failure_lines(result):
    """'N of M images failed' and the first reasons, or nothing."""
    failed = result.get('failed') or {}
    if not failed:
        return []
    total = result['num_images'] + len(failed)
    lines = [f'{len(failed)} of {total} images failed and are not in the scores above:']
    lines += [f'  {image_id}: {reason}' for image_id, reason in list(failed.items())[:10]]
    return lines


__all__ = ['build_eval_source', 'report_seeds', 'report_labels', 'failure_lines']
