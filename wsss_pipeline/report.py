"""``W/results.json`` and ``W/results.md`` from the steps' records, plus the figures.

All mIoU values and shares are in percent (as in the papers' tables); times
in seconds. A step that has not run, or is stale (its inputs changed, or an
output it read was redone since), leaves its cells empty (``null``) and is
listed under ``stale``: the report never mixes outputs of different inputs.
"""
import json
from pathlib import Path

from stage1_cam.evaluation import DEFAULT_SEED_THRESHOLDS
from wsss_core.io import atomic_path, write_json

from .figures import make_figures
from .steps import PER_METHOD_STEPS

PER_METHOD_STEP_NAMES = tuple(PER_METHOD_STEPS)


def _percent(value):
    return None if value is None else round(100.0 * float(value), 2)


def collect_results(ctx):
    settings = ctx.settings
    prepare = ctx.current_record('prepare')
    results = {
        'pipeline_config': settings.config_path,
        'work_dir': str(ctx.work_dir),
        'units': 'mIoU and shares in percent; seconds of wall time (cpu_seconds: CPU time)',
        'dataset': prepare['result'] if prepare else {'data_root': ctx.data_root},
        'label_split': settings.get('label_split'),
        'eval_split': ctx.eval_split,
        'stage2_config': settings.stage2_config,
        'protocol': {
            'seeds': 'multi-scale + flip maps of the GT classes, argmax against a background '
                     'threshold; best threshold of the sweep '
                     f'{list(settings.get("seed_thresholds", DEFAULT_SEED_THRESHOLDS))}',
            'pseudo_labels': 'confident regions + dense CRF; mIoU over decided pixels '
                             '(255 = uncertain excluded, its share reported)',
            'stage2': [dict(p) for p in settings.test_protocols]},
        'timings': {'prepare': _timing(prepare)},
        'methods': {}}
    for method in settings.chosen_methods:
        row = {'title': settings.method_titles[method], 'stage1_config': settings.methods[method],
               'timings': {}}
        for step in PER_METHOD_STEP_NAMES:
            row['timings'][step] = _timing(ctx.current_record(step, method))
        done = [t for t in row['timings'].values() if t]
        row['timings']['total_seconds'] = round(sum(t['seconds'] for t in done), 1)
        row['stale'] = {step: reason for step in PER_METHOD_STEP_NAMES
                        if (reason := ctx.book.stale_reason(step, method))}
        evaluation = ctx.current_record('eval_labels', method)
        ev = evaluation['result'] if evaluation else {}
        row.update({
            'seed_split': ev.get('split'), 'seed_num_images': ev.get('num_images'),
            'seed_miou': _percent(ev.get('seed_miou')),
            'best_threshold': ev.get('best_threshold'),
            'label_miou': _percent(ev.get('label_miou')),
            'label_uncertain_share': _percent(ev.get('label_uncertain_share')),
            'label_miou_255_as_background': _percent(ev.get('label_miou_255_as_background'))})
        test = ctx.current_record('test_seg', method)
        row['seg_split'] = test['result']['split'] if test else None
        row['seg_miou'] = ({name: m.get('mIoU') for name, m in test['result']['metrics'].items()}
                           if test else None)
        results['methods'][method] = row
    return results


def _timing(record):
    if record is None:
        return None
    return {'seconds': record['seconds'], 'cpu_seconds': record['cpu_seconds']}


def _cell(value, fmt='{:.2f}'):
    return '–' if value is None else fmt.format(value)


def markdown(results, figures=None):
    methods = results['methods']
    protocols = [p['name'] for p in results['protocol']['stage2']]
    dataset = results['dataset']
    split = results.get('eval_split') or results['label_split'] or 'train'
    seg_split = next((r['seg_split'] for r in methods.values() if r.get('seg_split')), 'val')
    num = next((r['seed_num_images'] for r in methods.values() if r.get('seed_num_images')), None)
    lines = [f'# WSSS results: {Path(results["pipeline_config"]).stem}', '',
             f'Dataset `{dataset.get("kind", "?")}` at `{dataset.get("data_root")}`. '
             f'Seeds and pseudo-labels are scored on the `{split}` split'
             f'{f" ({num} images)" if num else ""} against its ground truth; the segmentation '
             f'model (`{Path(results["stage2_config"]).stem}`), trained on each method\'s '
             f'pseudo-labels, on the `{seg_split}` split. mIoU in %.', '',
             f'- Seed: {results["protocol"]["seeds"]} (no CRF).',
             f'- Pseudo-label: {results["protocol"]["pseudo_labels"]}.',
             '- Segmentation: ' + '; '.join(
                 f'{p["name"]} = ' + _protocol_text(p) for p in results['protocol']['stage2']),
             '']
    header = ['Method', f'Seed mIoU ({split})', 'best thr.', f'Pseudo-label mIoU ({split}, CRF)',
              'share of 255', 'pseudo-label mIoU, 255 as bg'] + \
             [f'Seg. mIoU ({seg_split}, {name})' for name in protocols]
    lines += ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for method, row in methods.items():
        seg = row.get('seg_miou') or {}
        cells = [row.get('title', method), _cell(row['seed_miou']),
                 _cell(row['best_threshold']), _cell(row['label_miou']),
                 _cell(row['label_uncertain_share'], '{:.1f}%'),
                 _cell(row['label_miou_255_as_background'])] + \
                [_cell(seg.get(name)) for name in protocols]
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines += ['', 'Time per step (wall seconds; CPU seconds in brackets):', '']
    header = ['Method'] + list(PER_METHOD_STEP_NAMES) + ['total']
    lines += ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for method, row in methods.items():
        cells = [row.get('title', method)]
        for step in PER_METHOD_STEP_NAMES:
            t = row['timings'][step]
            cells.append('–' if t is None else f'{t["seconds"]:.0f} ({t["cpu_seconds"]:.0f})')
        cells.append(f'{row["timings"]["total_seconds"]:.0f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    stale = [f'{row.get("title", method)}: ' + ', '.join(f'{step} ({reason})'
                                                          for step, reason in row['stale'].items())
             for method, row in methods.items() if row.get('stale')]
    if stale:
        lines += ['', 'Stale steps, left out above (a run without --only redoes them): '
                  + '; '.join(stale) + '.']
    prep = results['timings']['prepare']
    if prep:
        lines += ['', f'prepare (shared): {prep["seconds"]:.0f} s']
    if figures:
        lines += ['', '## Figures', '']
        for name, path in figures.items():
            rel = Path(path).relative_to(results['work_dir']) if Path(path).is_absolute() \
                else Path(path)
            lines.append(f'![{name}]({rel})')
    return '\n'.join(lines) + '\n'


def _protocol_text(protocol):
    parts = ['multi-scale' if protocol.get('ms') else 'single scale']
    if protocol.get('flip'):
        parts.append('flip')
    parts.append('CRF' if protocol.get('crf') else 'no CRF')
    return ' + '.join(parts)


def steps_fingerprint(ctx):
    """Which step records the report was made from: each current step's folder
    and run id, and each stale step's folder (None)."""
    entries = [['prepare', (ctx.current_record('prepare') or {}).get('run_id')]]
    for method in ctx.settings.chosen_methods:
        for step in PER_METHOD_STEP_NAMES:
            record = ctx.current_record(step, method)
            entries.append([f'{method}/{step}', record.get('run_id') if record else None])
    return entries


def write_report(ctx, force=False):
    """Write results.json/.md and the figures; skipped when the step records
    and the methods are those the existing report was made from."""
    fingerprint = steps_fingerprint(ctx)
    old_path = ctx.work_dir / 'results.json'
    if old_path.is_file() and (ctx.work_dir / 'results.md').is_file() and not force:
        old = json.loads(old_path.read_text())
        if old.get('steps_fingerprint') == fingerprint and \
                list(old.get('methods', {})) == list(ctx.settings.chosen_methods) and \
                all(Path(p).is_file() for p in old.get('figures', {}).values()):
            print(f'== report: complete, skipped ({old_path})', flush=True)
            print((ctx.work_dir / 'results.md').read_text())
            return old
    results = collect_results(ctx)
    results['steps_fingerprint'] = fingerprint
    figures = make_figures(ctx, results)
    results['figures'] = {name: str(path) for name, path in figures.items()}
    write_json(ctx.work_dir / 'results.json', results)
    text = markdown({**results, 'work_dir': str(ctx.work_dir.resolve())},
                    {k: Path(v).resolve() for k, v in figures.items()})
    with atomic_path(ctx.work_dir / 'results.md') as tmp:
        tmp.write_text(text)
    print(text)
    return results
