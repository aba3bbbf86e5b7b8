"""Write the image-level labels JSON of PASCAL VOC 2012 (or a VOC-layout folder).

    python tools/prepare_voc.py --voc-root data/VOCdevkit/VOC2012 --out data/voc_labels.json
    python tools/prepare_voc.py --voc-root data/VOCdevkit/VOC2012 --out data/voc_labels.json \\
        --cls-labels-npy irn/voc12/cls_labels.npy --ids-from-list irn/voc12/train_aug.txt

Labels come from Annotations/<id>.xml, or from IRN's cls_labels.npy when given.
The VOC root is only read; the JSON goes to --out, which must lie outside it.
"""
import argparse
import sys
from pathlib import Path


from stage1_cam.datasets.voc import build_voc_labels
from wsss_core.errors import UserError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--voc-root', required=True, type=Path,
                        help='folder holding JPEGImages/ and Annotations/ (e.g. VOCdevkit/VOC2012)')
    parser.add_argument('--out', required=True, type=Path, help='labels JSON to write')
    parser.add_argument('--cls-labels-npy', type=Path, default=None,
                        help="IRN's voc12/cls_labels.npy; labels come from it instead of the XMLs")
    parser.add_argument('--ids-from-list', type=Path, nargs='+', default=None, metavar='FILE',
                        help='split lists (IRN or L2G format) whose ids to label; '
                             'default: every id of the labels source')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        labels = build_voc_labels(args.voc_root, args.out, cls_labels_npy=args.cls_labels_npy,
                                  id_lists=args.ids_from_list)
    except UserError as err:
        sys.exit(f'prepare_voc: error: {err}')
    print(f'wrote image-level labels of {len(labels)} images to {args.out}')


if __name__ == '__main__':
    main()
