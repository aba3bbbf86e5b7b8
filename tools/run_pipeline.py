"""Images to the results table in one command: every step of both stages.

    python3 tools/run_pipeline.py CONFIG --work-dir W [--data-root DIR]
        [--methods cam,bas] [--from STEP | --only STEP] [--workers N] [--cfg-options K=V ...]

Steps: prepare -> train_cam -> make_pseudo_labels -> eval_labels -> train_seg -> test_seg
-> report. Every chosen config is checked first (all problems, one line each). Each step
writes W/<method>/<step>/ (W/prepare/ for the dataset) and marks it complete with step.json,
which records a fingerprint of its inputs; a complete step is skipped while its inputs are
unchanged, a step whose inputs changed is redone with every step that reads it (the console
says why), an interrupted one resumes (trainings from their last checkpoint, pseudo-labels
from the images done). --from STEP redoes STEP and all later steps; --only STEP runs just
STEP (the steps that read it become stale). Writes W/results.json, W/results.md and
W/figures/ from the current steps only.
"""
import argparse
import logging
import sys


from mmengine.config import DictAction

from wsss_core.errors import UserError
from wsss_pipeline.run import STEPS, run_pipeline


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='pipeline config, e.g. configs/pipeline/demo.py')
    parser.add_argument('--work-dir', required=True, help='folder for every step\'s output')
    parser.add_argument('--data-root', help='dataset folder, replacing the config\'s')
    parser.add_argument('--methods', type=lambda text: [m for m in text.split(',') if m],
                        help='comma-separated stage-1 methods (default: the config\'s)')
    parser.add_argument('--from', dest='from_step', choices=STEPS,
                        help='redo this step and every later one')
    parser.add_argument('--only', dest='only_step', choices=STEPS, help='run only this step')
    parser.add_argument('--workers', type=int, default=None,
                        help='CRF worker processes (default: all cores)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override pipeline config entries, e.g. '
                             'stage1_cfg_options.train_cfg.max_epochs=2')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    try:
        run_pipeline(args.config, args.work_dir, methods=args.methods, data_root=args.data_root,
                     from_step=args.from_step, only_step=args.only_step, workers=args.workers,
                     cfg_options=args.cfg_options)
    except UserError as err:
        sys.exit(f'run_pipeline: error: {err}')


if __name__ == '__main__':
    main()
