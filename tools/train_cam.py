"""Train a stage-1 classifier (cam | bas) with mmengine's Runner.

    python tools/train_cam.py configs/stage1/bas_mobilenetv2_demo.py
    torchrun --nproc_per_node 4 tools/train_cam.py CONFIG --launcher pytorch
"""
import argparse
import sys


from stage1_cam.training import train
from wsss_core.errors import UserError
from wsss_core.runner_options import add_runner_arguments, export_local_rank



def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_runner_arguments(parser, 'config file (configs/stage1/*.py)',
                         'train_cfg.max_epochs=2')
    args = parser.parse_args()
    export_local_rank(args)
    return args


def main():
    args = parse_args()
    try:
        train(args.config, work_dir=args.work_dir, resume=args.resume,
              cfg_options=args.cfg_options, launcher=args.launcher, data_root=args.data_root,
              amp=args.amp)
    except UserError as err:
        sys.exit(f'error: {err}')


if __name__ == '__main__':
    main()
