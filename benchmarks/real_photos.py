"""The real-photo benchmark: every stage-1 method on real VOC objects over several dataset seeds.

    python3 benchmarks/real_photos.py [--work-dir work_dirs/real_photos] [--seeds 0,1,2] \\
        [--methods cam,bas,icl,bas_icl] [--workers N] [--summary-only]

Per dataset seed S: ``../shared/benchmarks/make_voc_composites.py`` writes 400 train / 100 val
320x320 photographs (real PASCAL VOC objects cut along their masks, on blurred real photos);
``configs/pipeline/real_photos.py`` then trains each method, makes its maps and CRF
pseudo-labels for train, scores seeds (sweep 0.00-0.95) and labels on the train GT, trains the
MobileNetV2 DeepLabV2 on the labels and tests it on val. For the methods with generator maps
the seeds of ``fused`` maps are scored too. Every step resumes (the pipeline's step records).

Writes ``benchmarks/results/real_photos.{json,md}``: per method one entry per seed, in %.
Needs ``../shared`` beside the repository; says so and exits 0 without it.
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

import numpy as np

from wsss_core.io import read_json, write_json

import common  # noqa: E402 (benchmarks/common.py, beside this script)

GENERATOR = REPO.parent / 'shared' / 'benchmarks' / 'make_voc_composites.py'
PIPELINE = 'configs/pipeline/real_photos.py'
METHODS = ('cam', 'bas', 'icl', 'bas_icl')
FIELDS = ('seed_miou', 'fused_seed_miou', 'generator_seed_miou', 'label_miou', 'label_miou_255_as_bg',
          'label_uncertain_share', 'seg_miou', 'seg_miou_ms_flip_crf', 'best_threshold',
          'fg_threshold', 'bg_threshold')


def make_dataset(out, seed):
    """The composite VOC folder of one seed (skipped when it is there)."""
    root = out / 'VOC2012'
    if (root / 'ImageSets' / 'Segmentation' / 'val.txt').is_file():
        return root
    subprocess.run([sys.executable, str(GENERATOR), str(out), '--seed', str(seed)], check=True)
    return root


def map_kind_seed_miou(seed_dir, method, data_root, kind, pipeline=PIPELINE):
    """Seed mIoU of the method's ``kind`` maps ('fused' = norm(norm(bas) + norm(cam)), 'bas' =
    generator only) on the train GT, or None for a method that cannot make them. Cached in
    the method's folder."""
    from wsss_pipeline.settings import load_settings, stage1_config, stage1_options
    from stage1_cam.config import load_stage1_config

    cache = seed_dir / method / f'{kind}_seeds.json'
    if cache.is_file():
        return read_json(cache)['seed_miou']
    settings = load_settings(REPO / pipeline, methods=[method], data_root=str(data_root))
    cfg = load_stage1_config(stage1_config(settings, method), data_root=str(data_root),
                             cfg_options=stage1_options(settings, method))
    if kind == cfg.pseudo_label.get('map_kind'):
        # the pipeline's own sweep scored these maps already
        return read_json(seed_dir / method / 'eval_labels' / 'step.json')['result']['seed_miou']
    checkpoint = read_json(seed_dir / method / 'train_cam' / 'step.json')['result']['checkpoint']
    return common.map_kind_seed_miou(cfg, checkpoint, kind, 'train', cache)


def _percent(value):
    return None if value is None else round(100 * value, 2)


def run_seed(work_dir, seed, methods, workers, pipeline=PIPELINE, rows_only=False):
    """Run the pipeline on dataset seed ``seed`` (or, ``rows_only``, read the
    results.json of a finished run) and write the seed's benchmark rows."""
    from wsss_pipeline.run import run_pipeline
    data_root = make_dataset(work_dir / f'data_seed{seed}', seed)
    seed_dir = work_dir / f'seed{seed}'
    if rows_only:
        results = read_json(seed_dir / 'results.json')
    else:
        results = run_pipeline(str(REPO / pipeline), str(seed_dir), methods=methods,
                               data_root=str(data_root), workers=workers)
    rows = {}
    for method in methods:
        entry = results['methods'][method]
        refine = read_json(seed_dir / method / 'make_pseudo_labels' / 'step.json')['result']['refine']
        rows[method] = {
            'fg_threshold': refine['fg_threshold'], 'bg_threshold': refine['bg_threshold'],
            'seed_miou': entry['seed_miou'], 'best_threshold': entry['best_threshold'],
            'fused_seed_miou': _percent(map_kind_seed_miou(seed_dir, method, data_root, 'fused',
                                                           pipeline)),
            'generator_seed_miou': _percent(map_kind_seed_miou(seed_dir, method, data_root,
                                                               'bas', pipeline)),
            'label_miou': entry['label_miou'],
            'label_miou_255_as_bg': entry['label_miou_255_as_background'],
            'label_uncertain_share': entry['label_uncertain_share'],
            'seg_miou': entry['seg_miou']['single-scale'],
            'seg_miou_ms_flip_crf': entry['seg_miou']['MS+flip+CRF'],
            'seconds': entry['timings']['total_seconds']}
    # Methods may be run in separate calls on the same seed: keep the others' rows.
    rows_file = seed_dir / 'benchmark_rows.json'
    rows = {**(read_json(rows_file) if rows_file.is_file() else {}), **rows}
    write_json(rows_file, rows)
    return rows


def collect(work_dir, seeds, methods):
    """{method: {field: [one value per seed], 'dataset_seeds': [...]}} from the seeds' rows;
    a method counts the seeds whose rows hold it (methods may be run on different seeds)."""
    table = {m: {**{f: [] for f in FIELDS}, 'dataset_seeds': []} for m in methods}
    done = []
    for seed in seeds:
        path = work_dir / f'seed{seed}' / 'benchmark_rows.json'
        if not path.is_file():
            continue
        rows = read_json(path)
        for m in methods:
            if m not in rows:
                continue
            table[m]['dataset_seeds'].append(seed)
            for f in FIELDS:
                table[m][f].append(rows[m].get(f))
        if any(m in rows for m in methods):
            done.append(seed)
    return table, done


def _mean(values):
    values = [v for v in values if v is not None]
    return (float(np.mean(values)), float(np.std(values))) if values else (None, None)


def _cell(values):
    mean, std = _mean(values)
    return '-' if mean is None else f'{mean:.1f} ± {std:.1f}'


def markdown(table, seeds):
    titles = {'cam': 'CAM', 'bas': 'BAS', 'icl': 'ICL', 'bas_icl': 'BAS+ICL'}
    lines = [f'Real-photo benchmark (`benchmarks/real_photos.py`), dataset seeds {seeds}: mean '
             '(± std over seeds) in % on train (seeds, pseudo-labels) and val (stage 2). '
             'MobileNetV2, 320 px; maps 1.0/0.5/1.5 + flip; confident-region thresholds '
             "'auto'; DeepLabV2-MobileNetV2 200 iterations.", '',
             '| method | dataset seeds | seed mIoU | fused seed mIoU | generator seed mIoU | '
             'fg / bg thresholds | pseudo-label mIoU | 255 as bg | share of 255 | '
             'seg. mIoU single-scale | seg. mIoU MS+flip+CRF |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for method, fields in table.items():
        fg, bg = _mean(fields['fg_threshold'])[0], _mean(fields['bg_threshold'])[0]
        cells = ([_cell(fields[f]) for f in ('seed_miou', 'fused_seed_miou',
                                             'generator_seed_miou')]
                 + ['-' if fg is None else f'{fg:.2f} / {bg:.2f}']
                 + [_cell(fields[f]) for f in ('label_miou', 'label_miou_255_as_bg',
                                               'label_uncertain_share', 'seg_miou',
                                               'seg_miou_ms_flip_crf')])
        if not fields['dataset_seeds']:
            continue
        seeds_run = ','.join(str(seed) for seed in fields['dataset_seeds'])
        lines.append(f'| {titles.get(method, method)} | {seeds_run} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/real_photos')
    parser.add_argument('--seeds', default='0,1,2')
    parser.add_argument('--methods', default=','.join(METHODS))
    parser.add_argument('--workers', type=int, default=None)
    parser.add_argument('--pipeline', default=PIPELINE,
                        help='pipeline config (a variant of configs/pipeline/real_photos.py)')
    parser.add_argument('--summary-only', action='store_true',
                        help='rebuild the JSON and table from the finished seeds only')
    parser.add_argument('--out', default=str(REPO / 'benchmarks' / 'results' / 'real_photos'))
    parser.add_argument('--rows-from-results', action='store_true',
                        help="make each seed's rows from its finished results.json (no pipeline run)")
    parser.add_argument('--notes', default=None,
                        help='free text kept in the JSON (settings.notes): how rows were made')
    args = parser.parse_args()
    if not GENERATOR.is_file():
        print(f'skipped: {GENERATOR} not found (the real-photo benchmark needs ../shared).')
        return
    seeds = [int(s) for s in args.seeds.split(',')]
    methods = args.methods.split(',')
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f'unknown methods {unknown}; choose from {list(METHODS)}')
    work_dir = Path(args.work_dir)
    started = time.perf_counter()
    if not args.summary_only:
        for seed in seeds:
            run_seed(work_dir, seed, methods, args.workers, args.pipeline,
                     rows_only=args.rows_from_results)
    table, done = collect(work_dir, seeds, methods)
    settings = {'pipeline_config': str(args.pipeline), 'dataset_seeds': done, 'generator': str(GENERATOR.name),
                'units': '%', 'fields': {
                    'seed_miou': 'best of the seed sweep 0.00-0.95 (map kind of the config)',
                    'fused_seed_miou': 'same for norm(norm(bas)+norm(cam)) maps (BAS methods)',
                    'generator_seed_miou': 'same for the generator maps alone (BAS methods)',
                    'label_miou': 'CRF pseudo-labels over decided pixels',
                    'label_miou_255_as_bg': 'pseudo-labels with 255 counted as background',
                    'seg_miou': 'DeepLabV2-MobileNetV2 on val, single-scale',
                    'seg_miou_ms_flip_crf': 'same, scales 0.75/1.0/1.5 + flip + CRF',
                    'fg_threshold': "confident-region fg threshold the labels used ('auto' resolved)",
                    'bg_threshold': 'same for bg'},
                'measured': time.strftime('%Y-%m-%d'),
                'seconds_this_run': round(time.perf_counter() - started)}
    if args.notes:
        settings['notes'] = args.notes
    write_json(args.out + '.json', {'methods': table, 'settings': settings})
    text = markdown(table, done)
    Path(args.out + '.md').write_text(text)
    print(text)


if __name__ == '__main__':
    main()
