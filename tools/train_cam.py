"""Train a stage-1 classifier (cam | bas) with mmengine's Runner.

    python tools/train_cam.py configs/stage1/bas_mobilenetv2_demo.py
    torchrun --nproc_per_node 4 tools/train_cam.py CONFIG --launcher pytorch
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from stage1_cam.training import DictAction, train  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file (configs/stage1/*.py)')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', const=True, default=False, metavar='CHECKPOINT',
                        help='resume from CHECKPOINT, or from the latest one in the work dir')
    parser.add_argument('--data-root', help='dataset folder, replacing the config\'s data_root')
    parser.add_argument('--amp', action='store_true', help='mixed precision (GPU)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_cfg.max_epochs=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    train(args.config, work_dir=args.work_dir, resume=args.resume, cfg_options=args.cfg_options,
          launcher=args.launcher, data_root=args.data_root, amp=args.amp)


if __name__ == '__main__':
    main()
