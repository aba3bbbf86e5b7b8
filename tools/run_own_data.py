"""Your own photographs, one command: pseudo-labels, a DeepLab, a results table, new masks.

    python3 tools/run_own_data.py --images DIR --labels labels.csv --work-dir W
        [--masks DIR] [--classes a,b,c | --classes class_names.txt]
        [--backbone mobilenetv2|resnet] [--methods cam,bas] [--image-size PX] [--iters N]
        [--val-fraction 0.2] [--seed 0] [--train-list F] [--val-list F]
        [--predict DIR_OR_GLOB [--ms] [--flip] [--crf] [--sheet]] [--workers N]
        [--from STEP | --only STEP]

labels.csv: rows "image,labels" with class names separated by ';' (a header line
"image,labels" is allowed), e.g. "beach/dog 1.jpg,dog;person". Everything else (class
counts, palette, splits, crops, pad size, ASPP rates, thresholds, epochs, stage-2
iterations) is derived, printed first and saved in W/own_data/derived.json; the generated
configs are in W/configs/. Results: W/results.md; masks of --predict: W/<method>/predict/.
"""
import argparse
import logging
import sys

from wsss_core.errors import UserError
from wsss_pipeline.own_data import BACKBONES, run_own_data
from wsss_pipeline.run import STEPS


def _classes(text):
    return text if text.endswith('.txt') else [c.strip() for c in text.split(',') if c.strip()]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--images', required=True, help='image folder (jpg/png, nested allowed)')
    parser.add_argument('--labels', required=True, help='labels CSV (image,labels) or JSON')
    parser.add_argument('--work-dir', required=True, help='folder for every output')
    parser.add_argument('--masks', help='optional mask folder (any subset of the images)')
    parser.add_argument('--classes', type=_classes,
                        help='class names in label order: a,b,c or a text file, one a line '
                             '(default: the labels file, order of first appearance)')
    parser.add_argument('--backbone', default='mobilenetv2', choices=sorted(BACKBONES),
                        help='mobilenetv2 (CPU, default) or resnet (ResNet-50 + ResNet-101, GPU)')
    parser.add_argument('--methods', type=lambda text: [m for m in text.split(',') if m],
                        help='stage-1 methods (default: cam,bas)')
    parser.add_argument('--image-size', type=int,
                        help='training size in px (default: median longer side of the images)')
    parser.add_argument('--iters', type=int,
                        help='iteration budget of each training (default: the configs\')')
    parser.add_argument('--val-fraction', type=float, default=0.2,
                        help='share of the images with masks held out to score the DeepLab')
    parser.add_argument('--seed', type=int, default=0, help='seed of the split')
    parser.add_argument('--train-list', help='train images, one a line (instead of the split)')
    parser.add_argument('--val-list', help='held-out images, one a line')
    parser.add_argument('--predict', help='new images (folder, image or glob) to make masks for')
    parser.add_argument('--ms', action='store_true', help='--predict: multi-scale')
    parser.add_argument('--flip', action='store_true', help='--predict: with flips')
    parser.add_argument('--crf', action='store_true', help='--predict: dense CRF')
    parser.add_argument('--sheet', action='store_true', help='--predict: contact sheet')
    parser.add_argument('--workers', type=int, help='CRF worker processes (default: all cores)')
    parser.add_argument('--from', dest='from_step', choices=STEPS,
                        help='redo this pipeline step and every later one')
    parser.add_argument('--only', dest='only_step', choices=STEPS, help='run only this step')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    try:
        run_own_data(args.images, args.labels, args.work_dir, masks=args.masks,
                     classes=args.classes, backbone=args.backbone, methods=args.methods,
                     image_size=args.image_size, iters=args.iters,
                     val_fraction=args.val_fraction, seed=args.seed,
                     train_list=args.train_list, val_list=args.val_list, predict=args.predict,
                     predict_options=dict(ms=args.ms, flip=args.flip, crf=args.crf,
                                          sheet=args.sheet),
                     workers=args.workers, from_step=args.from_step, only_step=args.only_step)
    except UserError as err:
        sys.exit(f'run_own_data: error: {err}')


if __name__ == '__main__':
    main()
