"""WSOL evaluation of a trained classifier: Top-1/Top-5/GT-known Loc and MaxBoxAccV2.

    python3 tools/eval_wsol.py CONFIG CHECKPOINT [--split test] [--data-root DIR] \
        [--out-json FILE] [--device cuda] [--cfg-options wsol.topk=80 ...]

Settings (map kind, top-k, thresholds, input size) come from the config's
``wsol`` dict (configs/wsol/*.py). Writes the metrics (fractions in [0, 1])
to --out-json (default: beside the checkpoint, wsol_<split>_<checkpoint>.json)
and prints them. A killed run re-run with the same command resumes.
"""
import argparse
import sys


from mmengine.config import DictAction

from stage1_cam.wsol.evaluate import format_metrics, run_from_config
from wsss_core.errors import UserError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='WSOL config (configs/wsol/*.py)')
    parser.add_argument('checkpoint', help='checkpoint written by tools/train_cam.py')
    parser.add_argument('--split', help="split to evaluate (default: the config's wsol.split)")
    parser.add_argument('--data-root', help="dataset folder, replacing the config's")
    parser.add_argument('--out-json', help='where to write the result JSON')
    parser.add_argument('--device', default='cpu', help='cpu (default) or cuda')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. wsol.topk=80')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        result = run_from_config(args.config, args.checkpoint, split=args.split,
                                 data_root=args.data_root, out_json=args.out_json,
                                 cfg_options=args.cfg_options, device=args.device)
    except UserError as err:
        sys.exit(f'error: {err}')
    print(format_metrics(result['metrics']))
    print(f"written: {result['out_json']}")


if __name__ == '__main__':
    main()
