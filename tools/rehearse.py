#!/usr/bin/env python3
"""Rehearse configs/pipeline/voc.py and coco.py end to end on tiny real data
before a GPU run (README, "Rehearsal before a GPU run").

    python3 tools/rehearse.py --out work_dirs/rehearsal [--pipelines voc,coco]
        [--methods cam,bas] [--device cuda] [--real-data ../shared/data/real]
"""
import argparse
import logging
import sys
from pathlib import Path

from wsss_core.errors import UserError
from wsss_pipeline.rehearsal import rehearse

REPO = Path(__file__).resolve().parents[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='work_dirs/rehearsal',
                        help='data, weights and one work dir per pipeline go here')
    parser.add_argument('--real-data', default=str(REPO.parent / 'shared' / 'data' / 'real'),
                        help='the real VOC/COCO samples the tiny datasets are made from')
    parser.add_argument('--pipelines', default='voc,coco', help='comma-separated: voc,coco')
    parser.add_argument('--methods', help='comma-separated (default: every method the '
                        'pipeline config defines)')
    parser.add_argument('--device', choices=['cpu', 'cuda', 'auto'],
                        help="the pseudo-label step's device (pseudo_label_device; default: "
                        "the config's 'auto'); training uses the GPU whenever torch sees one")
    parser.add_argument('--workers', type=int, default=1, help='pseudo-label workers')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    try:
        results = rehearse(args.real_data, args.out, pipelines=args.pipelines.split(','),
                           methods=args.methods.split(',') if args.methods else None,
                           device=args.device, workers=args.workers)
    except UserError as err:
        sys.exit(f'rehearse: error: {err}')
    for pipeline in results:
        print(f'{pipeline}: {Path(args.out) / pipeline / "results.md"}')


if __name__ == '__main__':
    main()
