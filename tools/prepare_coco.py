"""Prepare MS COCO 2014 for the WSSS pipeline: image-level labels, split lists, semantic GT.

    python3 tools/prepare_coco.py --coco-root data/coco --out data/coco_wsss \\
        [--splits train2014 val2014] [--gt-splits val2014] [--crowd {ignore,background}] \\
        [--workers N] [--overwrite]

Reads COCO_ROOT/annotations/instances_<split>.json with pycocotools and writes into
OUT (never inside COCO_ROOT): categories.json (contiguous label 1..80 <-> COCO
category id <-> name), labels_<split>.json, <split>.txt (annotated ids),
<split>_unannotated.txt, SegmentationClass/<split>/<id>.png for --gt-splits, and
prepare_coco.json. Overlaps: the smaller instance is on top (painted by decreasing
area, ties by annotation id). Crowd regions not covered by another instance are 255
(--crowd ignore, default) or background (--crowd background). Re-running resumes:
finished PNGs are skipped. See docs/coco.md.
"""
import argparse
import logging
import os
import sys
from pathlib import Path


from stage1_cam.datasets.coco_prepare import (CROWD_MODES, DEFAULT_GT_SPLITS,
                                              DEFAULT_SPLITS, prepare_coco)
from wsss_core.errors import UserError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--coco-root', required=True, type=Path,
                        help='folder holding annotations/instances_<split>.json (read only)')
    parser.add_argument('--out', required=True, type=Path,
                        help='output folder (outside --coco-root)')
    parser.add_argument('--splits', nargs='+', default=list(DEFAULT_SPLITS),
                        help='splits to prepare (default: %(default)s)')
    parser.add_argument('--gt-splits', nargs='*', default=list(DEFAULT_GT_SPLITS),
                        help='splits whose semantic GT PNGs are rendered (default: %(default)s; '
                             'add train2014 to score pseudo-labels)')
    parser.add_argument('--crowd', choices=CROWD_MODES, default='ignore',
                        help='crowd regions in the GT: 255 (ignore, default) or 0 (background)')
    parser.add_argument('--workers', type=int, default=os.cpu_count() or 1,
                        help='rendering processes (default: CPU count; 0 = this process)')
    parser.add_argument('--overwrite', action='store_true',
                        help='re-render finished PNGs (needed to change --crowd)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    try:
        manifest = prepare_coco(args.coco_root, args.out, splits=args.splits,
                                gt_splits=args.gt_splits, crowd=args.crowd,
                                workers=args.workers, overwrite=args.overwrite)
    except UserError as err:
        sys.exit(f'prepare_coco: error: {err}')
    for split in args.splits:
        info = manifest['splits'][split]
        gt = info['gt']
        gt_text = 'no GT' if gt is None else (
            f"GT: {gt['written']} written, {gt['skipped_existing']} kept, "
            f"{len(gt['failed'])} failed")
        print(f"{split}: {info['images']} images, {info['annotated']} annotated, "
              f"{info['unannotated']} without annotations; {gt_text}")
    print(f'-> {args.out}')
    if not manifest['complete']:
        sys.exit(1)


if __name__ == '__main__':
    main()
