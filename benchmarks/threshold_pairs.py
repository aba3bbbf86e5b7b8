"""Confident-region threshold pairs compared on the same saved maps: 'auto' against hand-picked.

    python3 benchmarks/threshold_pairs.py --config CONFIG --data-root ROOT --cams DIR \\
        --pairs auto,0.75/0.5 [--split train] [--name NAME]

``DIR`` is a ``cams/`` folder written by ``tools/make_pseudo_labels.py --save-cams`` (or by
the pipeline's make_pseudo_labels step). Every image of the split is labelled with each
pair by the same code as the pseudo-label step (``refine.make_pseudo_label``, IRN scheme,
label-CRF) and scored against its GT: mIoU over decided pixels, with 255 counted as
background, and the share of 255. ``auto`` is the pair ``stage1_cam/thresholds.py``
derives from the seed sweep of these maps (default band). No model is run, so a
comparison costs two CRFs per image and pair.

Appends its rows to ``benchmarks/results/threshold_pairs.json`` under ``NAME``.
"""
import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / 'benchmarks' / 'results' / 'threshold_pairs.json'


def parse_pairs(text):
    pairs = []
    for item in text.split(','):
        if item == 'auto':
            pairs.append('auto')
            continue
        fg, bg = (float(v) for v in item.split('/'))
        pairs.append((fg, bg))
    return pairs


def score_pairs(config, data_root, cams_dir, pairs, split='train', progress=True):
    """{pair: {'fg_threshold', 'bg_threshold', 'label_miou', 'label_miou_255_as_bg',
    'uncertain_share'}} (in %) over the split's images with maps in ``cams_dir``."""
    from stage1_cam.evaluation import ConfusionMatrix, evaluate_seed_dir
    from stage1_cam.label_report import build_eval_source
    from stage1_cam.refine import make_pseudo_label
    from stage1_cam.thresholds import confident_thresholds

    source = build_eval_source(config, split=split, data_root=data_root)
    resolved = {}
    for pair in pairs:
        if pair == 'auto':
            sweep = evaluate_seed_dir(cams_dir, source, progress=False)
            resolved['auto'] = confident_thresholds(sweep['best_threshold'], sweep)
        else:
            resolved[f'{pair[0]}/{pair[1]}'] = pair
    matrices = {name: ConfusionMatrix(source.num_classes + 1) for name in resolved}
    ids = [i for i in source.ids if (Path(cams_dir) / f'{i}.npz').is_file()]
    for image_id in tqdm(ids, desc='threshold pairs', unit='img', disable=not progress):
        with np.load(Path(cams_dir) / f'{image_id}.npz') as data:
            maps, classes = data['maps'].astype(np.float32), data['classes'].astype(np.int64)
        image, gt = source.image(image_id), source.gt_mask(image_id)
        for name, (fg, bg) in resolved.items():
            label = make_pseudo_label(image, maps, classes,
                                      {'fg_threshold': fg, 'bg_threshold': bg})
            matrices[name].update(label, gt)
    rows = {}
    for name, matrix in matrices.items():
        result = matrix.to_dict(source.class_names)
        fg, bg = resolved[name]
        rows[name] = {'fg_threshold': fg, 'bg_threshold': bg,
                      'label_miou': round(100 * result['miou'], 2),
                      'label_miou_255_as_bg': round(100 * result['miou_uncertain_as_background'], 2),
                      'uncertain_share': round(100 * result['uncertain_share'], 2)}
    return rows, len(ids)


def main():
    from wsss_core.io import read_json, write_json

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', required=True, help='the stage-1 config of the maps')
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--cams', required=True, help='folder of saved maps (<id>.npz)')
    parser.add_argument('--pairs', default='auto', help="comma-separated 'auto' or FG/BG")
    parser.add_argument('--split', default='train')
    parser.add_argument('--name', default=None, help='key of these rows in the JSON')
    parser.add_argument('--out', default=str(RESULTS))
    args = parser.parse_args()
    rows, count = score_pairs(args.config, args.data_root, args.cams, parse_pairs(args.pairs),
                              args.split)
    out = Path(args.out)
    results = read_json(out) if out.is_file() else {}
    results[args.name or str(args.cams)] = {'config': args.config, 'cams': str(args.cams),
                                            'split': args.split, 'num_images': count,
                                            'pairs': rows}
    write_json(out, results)
    print('| pair | fg / bg | pseudo-label mIoU | 255 as bg | share of 255 |\n|---|---|---|---|---|')
    for name, row in rows.items():
        print(f"| {name} | {row['fg_threshold']} / {row['bg_threshold']} | {row['label_miou']:.2f} "
              f"| {row['label_miou_255_as_bg']:.2f} | {row['uncertain_share']:.1f}% |")


if __name__ == '__main__':
    main()
