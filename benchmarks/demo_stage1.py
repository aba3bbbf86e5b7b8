"""Stage-1 methods on the demo benchmark: seed mIoU, best threshold, pseudo-label
mIoU and share of 255, for each method, in one table.

    python3 benchmarks/demo_stage1.py [--work-dir work_dirs/demo_stage1] [--methods cam,bas]
        [--train-seeds 0,1,2]

Steps (each skipped when its output exists): generate the demo data, train each
method's demo config, write maps + pseudo-labels for the train split, score both
against the demo GT. With --train-seeds, each method is also trained with the other
randomness seeds and their seed mIoU (the method's map kind, no CRF) is reported with
the mean and std over seeds. Writes benchmarks/results/demo_stage1.{json,md}.
"""
import argparse
import json
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from stage1_cam.datasets.demo import generate_demo_dataset, is_demo_folder
from wsss_core.io import read_json, write_json

import common  # noqa: E402 (benchmarks/common.py, beside this script)

CONFIGS = {'cam': 'configs/stage1/cam_mobilenetv2_demo.py',
           'icl': 'configs/stage1/icl_mobilenetv2_demo.py',
           'bas': 'configs/stage1/bas_mobilenetv2_demo.py',
           'bas_icl': 'configs/stage1/bas_icl_mobilenetv2_demo.py'}


MAP_KINDS = ('bas', 'cam', 'fused')


def map_kind_seed_miou(config, checkpoint, data_root, split, kind, cache):
    """Best seed mIoU of the checkpoint's ``kind`` maps, the same sweep as the default
    maps; None for a method without that kind. Cached in ``cache``."""
    from stage1_cam.config import load_stage1_config

    if cache.is_file():
        return read_json(cache)['seed_miou']
    cfg = load_stage1_config(config, data_root=str(data_root))
    return common.map_kind_seed_miou(cfg, checkpoint, kind, split, cache)


def training_seed_miou(config, data_root, method_dir, split, seed, kind):
    """Seed mIoU of the method's ``kind`` maps after training with ``randomness.seed=seed``
    (another draw of initialisation, batches and augmentation; same data). The
    training-seed spread tells how much of a difference between methods is noise."""
    from stage1_cam.config import load_stage1_config
    from stage1_cam.training import train

    cache = method_dir / f'train_seed{seed}_{kind}_seeds.json'
    if cache.is_file():
        return read_json(cache)['seed_miou']
    train_dir = method_dir / f'train_seed{seed}'
    options = {'randomness.seed': seed}
    cfg = load_stage1_config(config, data_root=str(data_root), cfg_options=options)
    checkpoint = train_dir / f'epoch_{cfg.train_cfg.max_epochs}.pth'
    if not checkpoint.is_file():
        train(config, work_dir=str(train_dir), data_root=str(data_root), cfg_options=options,
              resume=any(train_dir.glob('epoch_*.pth')))
    return common.map_kind_seed_miou(cfg, checkpoint, kind, split, cache)


def run_method(method, data_root, work_dir, workers, split, train_seeds=(0,)):
    from mmengine.config import Config

    from stage1_cam.label_report import build_eval_source
    from stage1_cam.pseudo_labels import run_from_config
    from stage1_cam.evaluation import evaluate_label_dir, evaluate_seed_dir
    from stage1_cam.training import train

    config = str(REPO / CONFIGS[method])
    method_dir = work_dir / method
    epochs = Config.fromfile(config).train_cfg.max_epochs
    checkpoint = method_dir / 'train' / f'epoch_{epochs}.pth'
    timings = {}
    if not checkpoint.is_file():
        started = time.perf_counter()
        train(config, work_dir=str(method_dir / 'train'), data_root=str(data_root),
              resume=any((method_dir / 'train').glob('epoch_*.pth')))
        timings['train_s'] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    # overwrite=False: an existing folder made with other settings is refused (delete it).
    run_from_config(config, checkpoint, method_dir / 'pseudo', split=split,
                    data_root=str(data_root), workers=workers, save_cams=True)
    timings['pseudo_labels_s'] = round(time.perf_counter() - started, 1)
    source = build_eval_source(config, split=split, data_root=str(data_root))
    # the default sweep, 0.00-0.95 (evaluation.DEFAULT_SEED_THRESHOLDS), as 'auto' uses
    seeds = evaluate_seed_dir(method_dir / 'pseudo' / 'cams', source, progress=False)
    labels = evaluate_label_dir(method_dir / 'pseudo' / 'labels', source, progress=False)
    manifest = read_json(method_dir / 'pseudo' / 'manifest.json')
    # the config's own seed (0) is the run above; other seeds give seed mIoU only (no CRF)
    by_seed = {str(seed): seeds['best_miou'] if seed == 0 else
               training_seed_miou(config, data_root, method_dir, split, seed,
                                  manifest['map_kind'])
               for seed in train_seeds}
    return {'map_kind': manifest['map_kind'], 'seed_miou_by_training_seed': by_seed,
            'thresholds': [manifest['refine']['fg_threshold'], manifest['refine']['bg_threshold']],
            # the labelled map kind was swept above; the others need their own pass
            'seed_miou_by_map_kind': {
                kind: seeds['best_miou'] if kind == manifest['map_kind'] else
                map_kind_seed_miou(config, checkpoint, data_root, split, kind,
                                   method_dir / f'{kind}_seeds.json')
                for kind in MAP_KINDS},
            'method': method, 'config': CONFIGS[method], 'split': split,
            'num_images': seeds['num_images'], 'seed_miou': seeds['best_miou'],
            'best_threshold': seeds['best_threshold'], 'seed_iou': seeds['best']['iou'],
            'label_miou': labels['miou'], 'label_uncertain_share': labels['uncertain_share'],
            'label_miou_255_as_bg': labels['miou_uncertain_as_background'],
            'label_iou': labels['iou'], 'timings': timings}


def over_seeds(row):
    """'mean ± std (seeds a,b,c: x / y / z)' of a row's training-seed seed mIoUs."""
    import numpy as np

    by_seed = row.get('seed_miou_by_training_seed') or {'0': row['seed_miou']}
    values = 100 * np.array(list(by_seed.values()))
    return (f'{values.mean():.2f} ± {values.std():.2f} (seeds {",".join(by_seed)}: '
            + ' / '.join(f'{v:.2f}' for v in values) + ')')


def markdown(rows, meta):
    lines = [f'Demo benchmark ({meta["num_train"]} train images, seed {meta["seed"]}), '
             f'evaluated on the `{rows[0]["split"]}` split (its GT); maps: multi-scale (1.0, 0.5, '
             '1.5, 2.0) + flip, no CRF; seed = argmax with a background threshold swept over '
             '0.00-0.95 on the method\'s pseudo-label maps (`map kind`), and for the BAS methods '
             'also on the generator maps alone and the CAM head; pseudo-labels: confident regions '
             'with dense CRF at the thresholds shown (the config\'s, \'auto\' resolved); '
             '255 = uncertain.', '',
             '| method | map kind | seed mIoU | best threshold | generator seed | CAM-head seed | '
             'fg/bg thresholds | pseudo-label mIoU | share of 255 | '
             'pseudo-label mIoU (255 as bg) | seed mIoU over training seeds |',
             '|---|---|---|---|---|---|---|---|---|---|---|']

    def kind(r, k):
        value = r.get('seed_miou_by_map_kind', {}).get(k)
        return '-' if value is None or r.get('map_kind') == 'cam' else f'{100 * value:.2f}'

    for r in rows:
        fg, bg = r.get('thresholds', ('?', '?'))
        lines.append(f'| {r["method"]} | {r.get("map_kind", "?")} | {100 * r["seed_miou"]:.2f} | '
                     f'{r["best_threshold"]:.2f} | {kind(r, "bas")} | {kind(r, "cam")} | '
                     f'{fg}/{bg} | '
                     f'{100 * r["label_miou"]:.2f} | {100 * r["label_uncertain_share"]:.2f}% | '
                     f'{100 * r["label_miou_255_as_bg"]:.2f} | {over_seeds(r)} |')
    return '\n'.join(lines) + '\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/demo_stage1')
    parser.add_argument('--data-root', default='data/demo')
    parser.add_argument('--methods', default='cam,bas',
                        help=f'comma-separated, from {sorted(CONFIGS)}')
    parser.add_argument('--split', default='train')
    parser.add_argument('--train-seeds', default='0',
                        help='comma-separated randomness.seed values to train each method '
                             'with; seed 0 gets the full row, the others seed mIoU only')
    parser.add_argument('--workers', type=int, default=os.cpu_count() or 1)
    parser.add_argument('--out', default=str(REPO / 'benchmarks' / 'results' / 'demo_stage1'))
    args = parser.parse_args()
    data_root = Path(args.data_root)
    if not is_demo_folder(data_root):
        generate_demo_dataset(data_root)
    meta = json.loads((data_root / 'meta.json').read_text())
    methods = args.methods.split(',')
    unknown = sorted(set(methods) - set(CONFIGS))
    if unknown:
        parser.error(f'unknown methods {unknown}; choose from {sorted(CONFIGS)}')
    train_seeds = [int(seed) for seed in args.train_seeds.split(',')]
    if 0 not in train_seeds:
        parser.error('--train-seeds must include 0 (the configs\' own seed, the full row)')
    rows = [run_method(m, data_root, Path(args.work_dir), args.workers, args.split, train_seeds)
            for m in methods]
    write_json(args.out + '.json', {'demo': meta, 'rows': rows})
    table = markdown(rows, meta)
    Path(args.out + '.md').write_text(table)
    print(table)


if __name__ == '__main__':
    main()
