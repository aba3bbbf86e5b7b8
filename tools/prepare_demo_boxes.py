"""Generate the box-labelled demo set for WSOL (CUB-200-2011 layout, 6 classes, 128x128).

    python3 tools/prepare_demo_boxes.py --out data/demo_boxes [--num-train 300] [--num-test 100]

One object per image, drawn by the demo generator (stage1_cam/datasets/demo.py);
its box is the bounding box of the object's pixels. Same arguments give the
same files.
"""
import argparse
import sys
from pathlib import Path


from stage1_cam.wsol.demo_boxes import generate_demo_boxes
from wsss_core.errors import UserError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', required=True, type=Path, help='folder to write (created if missing)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--num-train', type=int, default=300, help='train images (default 300)')
    parser.add_argument('--num-test', type=int, default=100, help='test images (default 100)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        meta = generate_demo_boxes(args.out, seed=args.seed, num_train=args.num_train,
                                   num_test=args.num_test, progress=True)
    except UserError as err:
        sys.exit(f'prepare_demo_boxes: error: {err}')
    print(f"wrote {meta['num_train']} train + {meta['num_test']} test images to {args.out} "
          f"(CUB layout) in {meta['seconds']:.1f} s")


if __name__ == '__main__':
    main()
