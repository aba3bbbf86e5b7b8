"""Score seeds (saved maps) or pseudo-labels against ground truth.

    python3 tools/eval_labels.py CONFIG --cams OUT/cams [--split train] [--data-root DIR]
    python3 tools/eval_labels.py CONFIG --labels OUT/labels [--split train]

--cams: mIoU over a background-threshold sweep (default 0.00-0.95 step 0.01: BAS maps peak
at 0.6-0.9); prints the curve, the best threshold and its per-class IoU; writes
seed_eval.json and seed_eval.png beside the folder (or --out-json). --labels: mIoU over the
pixels the labels decide (255 = uncertain is excluded, and its share reported), also with 255
counted as background. A folder lacking files of some images of the split is an error
(exit 1, naming how many and the first ids) unless --allow-partial.
"""
import argparse
import sys


from mmengine.config import DictAction

from stage1_cam.evaluation import DEFAULT_SEED_THRESHOLDS, sweep_thresholds
from stage1_cam.label_report import build_eval_source, report_labels, report_seeds
from wsss_core.errors import UserError



def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='stage-1 config naming the dataset (for its GT)')
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument('--cams', help='folder of <id>.npz maps (make_pseudo_labels --save-cams)')
    what.add_argument('--labels', help='folder of <id>.png pseudo-labels')
    parser.add_argument('--split', help='split whose GT to use (default: the config\'s)')
    parser.add_argument('--data-root', help='dataset folder, replacing the config\'s')
    parser.add_argument('--thresholds', nargs=3, type=float, metavar=('START', 'STOP', 'STEP'),
                        default=DEFAULT_SEED_THRESHOLDS,
                        help='background-threshold sweep (inclusive; default 0 0.95 0.01)')
    parser.add_argument('--allow-partial', action='store_true',
                        help='score a folder that lacks some images of the split (and say so)')
    parser.add_argument('--out-json', help='where to write the result JSON')
    parser.add_argument('--plot', help='where to write the sweep plot PNG')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        source = build_eval_source(args.config, split=args.split, data_root=args.data_root,
                                   cfg_options=args.cfg_options)
        if args.cams:
            result, text = report_seeds(args.cams, source, args.out_json, args.plot,
                                        sweep_thresholds(*args.thresholds),
                                        allow_partial=args.allow_partial)
        else:
            result, text = report_labels(args.labels, source, args.out_json,
                                         allow_partial=args.allow_partial)
    except UserError as err:
        sys.exit(f'error: {err}')
    print(text)
    if result['num_failed']:
        sys.exit(f'error: {result["num_failed"]} of {result["num_images"] + result["num_failed"]} '
                 'images failed (listed above and under "failed" in the result JSON); fix them '
                 'and re-run for a score over the whole split.')


if __name__ == '__main__':
    main()
