"""Evaluate a stage-2 checkpoint: per-class IoU table and mIoU, optionally with
multi-scale + flip and dense CRF (as WSSS papers report), and palette PNGs.

    python3 tools/test_seg.py configs/stage2/deeplabv2_mobilenetv2_demo.py \
        work_dirs/deeplabv2_mobilenetv2_demo/iter_300.pth
    python3 tools/test_seg.py configs/stage2/deeplabv2_r101_voc.py CKPT --ms --flip --crf \
        --out work_dirs/voc_val_pred
    # mmseg's --tta (the config's tta_pipeline + tta_model) and --show-dir
    python3 tools/test_seg.py configs/stage2/deeplabv2_r101_voc.py CKPT --tta --crf \
        --crf-workers 16 --show-dir work_dirs/voc_val_vis
    # VOC test server: predictions only (no ground truth for the test split)
    python3 tools/test_seg.py configs/stage2/deeplabv2_r101_voc.py CKPT --ms --flip --crf \
        --out results/VOC2012/Segmentation/comp6_test_cls --cfg-options \
        test_dataloader.dataset.split=data/VOCdevkit/VOC2012/ImageSets/Segmentation/test.txt \
        test_dataloader.dataset.ann_dir=None
"""
import argparse
import sys

from wsss_core.errors import UserError
from wsss_core.runner_options import add_runner_arguments, export_local_rank

from stage2_seg.test import test


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_runner_arguments(parser, 'config file (configs/stage2/*.py)',
                         'test_dataloader.batch_size=1', training=False)
    parser.add_argument('checkpoint', help='checkpoint written by tools/train_seg.py')
    parser.add_argument('--ms', action='store_true',
                        help='multi-scale test (softmax averaged over the config\'s tta_scales)')
    parser.add_argument('--scales', type=float, nargs='+', help='scales for --ms')
    parser.add_argument('--flip', action='store_true', help='average with the flipped image')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation as mmseg: the config\'s tta_pipeline and '
                             'tta_model (here: 6 scales + flip)')
    parser.add_argument('--crf', action='store_true',
                        help='dense CRF over the softmax of the classes that reach the '
                             'config\'s crf.prob_floor somewhere in the image (the config\'s crf)')
    parser.add_argument('--crf-workers', metavar='N',
                        help="CRF processes (default: the config's crf_workers, 'auto' = every "
                             'usable CPU; 0 = in the test process)')
    parser.add_argument('--out', metavar='DIR', help='write predictions as palette PNGs here '
                        '(never a dataset folder)')
    parser.add_argument('--show-dir', metavar='DIR',
                        help='save image | GT | prediction drawings here (mmseg\'s --show-dir; '
                             'every default_hooks.visualization.interval-th image)')
    args = parser.parse_args()
    export_local_rank(args)
    return args


def _number(value):
    try:
        return f'{float(value):.2f}'
    except (TypeError, ValueError):
        return str(value)


def main():
    args = parse_args()
    try:
        run(args)
    except UserError as err:
        sys.exit(f'error: {err}')


def run(args):
    metrics = test(args.config, args.checkpoint, work_dir=args.work_dir, ms=args.ms,
                   flip=args.flip, crf=args.crf, out=args.out, scales=args.scales,
                   cfg_options=args.cfg_options, launcher=args.launcher,
                   data_root=args.data_root, tta=args.tta, show_dir=args.show_dir,
                   crf_workers=args.crf_workers)
    if metrics:
        print('  '.join(f'{k}: {_number(v)}' for k, v in metrics.items()))
    if args.out:
        print(f'predictions written to {args.out}')
    if args.show_dir:
        print(f'drawings written under {args.show_dir}')


if __name__ == '__main__':
    main()
