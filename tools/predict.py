"""Masks for new photographs from a trained stage-2 model.

    python3 tools/predict.py CONFIG CHECKPOINT INPUT --out DIR [--ms] [--flip] [--crf] [--sheet]

INPUT: an image, a folder (nested folders too) or a glob in quotes ('photos/**/*.jpg').
Writes DIR/masks/<id>.png (VOC palette, 0 background), DIR/overlays/<id>.jpg, DIR/sheet.jpg
(with --sheet) and DIR/predictions.json. --ms/--flip/--crf: the protocol of tools/test_seg.py.
DIR may not be (or be inside) the folder the images come from. Example, after
tools/run_own_data.py --work-dir W:
    python3 tools/predict.py W/configs/stage2.py W/bas/train_seg/iter_200.pth new_photos --out preds
"""
import argparse
import sys

from mmengine.config import DictAction

from stage2_seg.predict import predict_images
from wsss_core.errors import UserError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config',
                        help='stage-2 config (configs/stage2/*.py or W/configs/stage2.py)')
    parser.add_argument('checkpoint', help='checkpoint written by tools/train_seg.py')
    parser.add_argument('input', help='an image, a folder or a glob')
    parser.add_argument('--out', required=True, metavar='DIR', help='output folder')
    parser.add_argument('--ms', action='store_true',
                        help="multi-scale (softmax averaged over the config's tta_scales)")
    parser.add_argument('--scales', type=float, nargs='+', help='scales for --ms')
    parser.add_argument('--flip', action='store_true', help='average with the flipped image')
    parser.add_argument('--crf', action='store_true', help="dense CRF (the config's crf)")
    parser.add_argument('--sheet', action='store_true', help='also write DIR/sheet.jpg')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. crf.preset=deeplab')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        summary = predict_images(args.config, args.checkpoint, args.input, args.out, ms=args.ms,
                                 flip=args.flip, crf=args.crf, scales=args.scales,
                                 sheet=args.sheet, device=args.device,
                                 cfg_options=args.cfg_options)
    except UserError as err:
        sys.exit(f'predict: error: {err}')
    print(f'{summary["num_images"]} masks in {summary["masks"]}, overlays in '
          f'{summary["overlays"]}' + (f', sheet {summary["sheet"]}' if 'sheet' in summary else ''))


if __name__ == '__main__':
    main()
