"""Train a stage-2 segmentor (DeepLabV2 / DeepLabV3+) on pseudo-labels with mmengine's Runner.

    python3 tools/train_seg.py configs/stage2/deeplabv2_mobilenetv2_demo.py \
        --pseudo-labels work_dirs/pseudo_labels/demo
    python3 tools/train_seg.py configs/stage2/deeplabv2_r101_voc.py --pseudo-labels OUT --resume
    torchrun --nproc_per_node 4 tools/train_seg.py CONFIG --launcher pytorch \
        --cfg-options train_dataloader.batch_size=3

--pseudo-labels takes the --out-dir of tools/make_pseudo_labels.py (or its labels/
folder); the folder is refused when its manifest says it is incomplete, was made
for other classes, or lacks labels of the training split.
"""
import argparse
import sys


from stage2_seg.train import train
from wsss_core.errors import UserError
from wsss_core.runner_options import add_runner_arguments, export_local_rank




def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_runner_arguments(parser, 'config file (configs/stage2/*.py)',
                         'train_cfg.max_iters=1000')
    parser.add_argument('--pseudo-labels', metavar='DIR',
                        help='train on this pseudo-label folder (make_pseudo_labels.py --out-dir)')
    args = parser.parse_args()
    export_local_rank(args)
    return args


def main():
    args = parse_args()
    try:
        run(args)
    except UserError as err:
        sys.exit(f'error: {err}')


def run(args):
    train(args.config, work_dir=args.work_dir, resume=args.resume, amp=args.amp,
          cfg_options=args.cfg_options, launcher=args.launcher,
          pseudo_labels=args.pseudo_labels, data_root=args.data_root)


if __name__ == '__main__':
    main()
