"""Generate the bundled synthetic demo dataset (VOC layout, 6 classes, 128x128).

    python tools/prepare_demo_data.py --out data/demo
    python tools/prepare_demo_data.py --out /tmp/demo_small --num-train 40 --num-val 10 --seed 1

Each object is a large body with a weak class cue plus a small, highly
discriminative head, so plain CAM covers the head only (see
stage1_cam/datasets/demo.py). Same arguments give byte-identical files.
Re-running into a previous demo folder regenerates it; any other non-empty
folder is refused.
"""
import argparse
import sys
from pathlib import Path


from stage1_cam.datasets.demo import generate_demo_dataset
from wsss_core.errors import UserError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', required=True, type=Path, help='folder to write (created if missing)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--num-train', type=int, default=400, help='train images (default 400)')
    parser.add_argument('--num-val', type=int, default=100, help='val images (default 100)')
    parser.add_argument('--ignore-border', type=int, default=0, metavar='PX',
                        help='width of a 255 (ignore) band along label edges in '
                             'SegmentationClass, as in VOC (default 0: exact masks)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        meta = generate_demo_dataset(args.out, seed=args.seed, num_train=args.num_train,
                                     num_val=args.num_val, ignore_border=args.ignore_border)
    except UserError as err:
        sys.exit(f'prepare_demo_data: error: {err}')
    height, width = meta['image_size']
    print(f"wrote demo dataset to {args.out}: {meta['num_train']} train + {meta['num_val']} val "
          f"images ({height}x{width}), {len(meta['class_names'])} classes "
          f"{', '.join(meta['class_names'])}, seed {meta['seed']}, in {meta['seconds']:.1f} s")
    print('  JPEGImages/, SegmentationClass/, parts/, ImageSets/Segmentation/{train,val}.txt, '
          'labels.json, meta.json')


if __name__ == '__main__':
    main()
