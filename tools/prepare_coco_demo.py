"""Generate the demo dataset in COCO 2014 layout (train2014/, val2014/, annotations/).

    python3 tools/prepare_coco_demo.py --out data/coco_demo [--num-train 24] [--num-val 8]
    python3 tools/prepare_coco.py --coco-root data/coco_demo --out data/coco_demo_wsss \\
        --gt-splits train2014 val2014

The demo's synthetic images with instances-format annotations over the 80 COCO
categories (six of them used), a few crowd instances and a few images without
annotations: the COCO pipeline runs on it as on COCO, on a CPU. See docs/coco.md.
"""
import argparse
import sys
from pathlib import Path


from stage1_cam.datasets.demo_coco import generate_coco_demo
from wsss_core.errors import UserError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', required=True, type=Path, help='folder to write (the COCO root)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, default=400, help='train images (default 400)')
    parser.add_argument('--num-val', type=int, default=100, help='val images (default 100)')
    parser.add_argument('--image-size', type=int, default=128, help='side in pixels (default 128)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        meta = generate_coco_demo(args.out, seed=args.seed, num_train=args.num_train,
                                  num_val=args.num_val, image_size=(args.image_size,) * 2,
                                  progress=True)
    except UserError as err:
        sys.exit(f'prepare_coco_demo: error: {err}')
    print(f"wrote COCO-format demo to {args.out}: {meta['num_train']} train2014 + "
          f"{meta['num_val']} val2014 images in {meta['seconds']:.1f} s")


if __name__ == '__main__':
    main()
