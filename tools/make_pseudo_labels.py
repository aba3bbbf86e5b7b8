"""Pseudo-labels from a trained stage-1 classifier: multi-scale maps -> dense CRF -> PNGs.

    python3 tools/make_pseudo_labels.py CONFIG CHECKPOINT --out-dir OUT \\
        [--split NAME] [--workers N] [--shard I/N] [--save-cams] [--overwrite]

Writes OUT/labels/<id>.png (VOC palette; 255 = uncertain), OUT/cams/<id>.npz with
--save-cams, and OUT/manifest.json. Re-running the same command resumes. The exit
status is 1 when some images failed (they are listed in the manifest).
"""
import argparse
import logging
import os
import sys


from mmengine.config import DictAction

from stage1_cam.pseudo_labels import parse_shard, run_from_config
from wsss_core.errors import UserError



def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='the stage-1 config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='checkpoint written by tools/train_cam.py')
    parser.add_argument('--out-dir', required=True, help='output folder (labels/, cams/, manifest)')
    parser.add_argument('--split', help='split to label (default: the config\'s training split)')
    parser.add_argument('--data-root', help='dataset folder, replacing the config\'s')
    parser.add_argument('--workers', type=int, default=os.cpu_count() or 1,
                        help='CRF worker processes (0: in this process)')
    parser.add_argument('--shard', type=parse_shard, default=(0, 1), metavar='I/N',
                        help='label every N-th image starting at I (split work across machines)')
    parser.add_argument('--save-cams', action='store_true', help='also save maps as npz')
    parser.add_argument('--overwrite', action='store_true', help='redo finished images')
    parser.add_argument('--threshold-split',
                        help="with refine thresholds 'auto': split whose seed sweep places them "
                             '(default: pseudo_label.threshold_split, else --split)')
    parser.add_argument('--seed-threshold', type=float,
                        help="with refine thresholds 'auto': fg at this seed threshold (e.g. the "
                             'best of tools/eval_labels.py --cams), bg at IRN\'s log-odds distance '
                             'below it, instead of a sweep')
    parser.add_argument('--device', default='cpu', help='cpu or cuda[:N] for the classifier')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. pseudo_label.map_kind=fused')
    return parser.parse_args()


def main():
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    try:
        manifest = run_from_config(args.config, args.checkpoint, args.out_dir, split=args.split,
                                   data_root=args.data_root, workers=args.workers,
                                   shard=args.shard, save_cams=args.save_cams,
                                   overwrite=args.overwrite, cfg_options=args.cfg_options,
                                   device=args.device, threshold_split=args.threshold_split,
                                   seed_threshold=args.seed_threshold)
    except UserError as err:
        sys.exit(f'error: {err}')
    print(f'{manifest["num_done"]} of {manifest["num_images"]} images labelled, '
          f'{manifest["num_failed"]} failed -> {args.out_dir}')
    if manifest['num_failed']:
        print(f'error: {manifest["num_failed"]} of {manifest["num_images"]} images failed '
              f'(reasons under "failed" in the manifest of {args.out_dir}); fix or remove them '
              'and re-run to label the rest: ' + ', '.join(sorted(manifest['failed'])[:10]),
              file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
