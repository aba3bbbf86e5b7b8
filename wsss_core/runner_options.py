"""Command-line options shared by the Runner tools of both stages
(``tools/train_cam.py``, ``tools/train_seg.py``, ``tools/test_seg.py``):
mmseg's ``tools/train.py`` semantics, applied to an mmengine Config."""
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.hooks import CheckpointHook

from .checkpoint import AtomicCheckpointHook
from .rng_state import RandomStateHook


def add_runner_arguments(parser, config_help, cfg_options_example, training=True):
    """Add ``config``, ``--work-dir``, ``--data-root``, ``--cfg-options``,
    ``--launcher`` (and, with ``training``, ``--resume`` and ``--amp``)."""
    parser.add_argument('config', help=config_help)
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    if training:
        parser.add_argument('--resume', nargs='?', const=True, default=False,
                            metavar='CHECKPOINT',
                            help='resume from CHECKPOINT, or from the latest one in the work dir')
        parser.add_argument('--amp', action='store_true', help='automatic mixed precision (GPU)')
    parser.add_argument('--data-root', help='dataset folder, replacing the config\'s data_root')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help=f'override config entries, e.g. {cfg_options_example}')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def export_local_rank(args):
    """torch.distributed.launch passes --local_rank; torchrun sets LOCAL_RANK."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))


def set_work_dir_and_launcher(cfg, config, work_dir=None, launcher='none'):
    """``--work-dir`` (default: the config's, else ``work_dirs/<config name>``)
    and ``--launcher``."""
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = str(work_dir)
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(str(config)))[0])


def set_resume_and_amp(cfg, resume=False, amp=False):
    """``resume``: False, True (the latest checkpoint of the work dir) or a
    path; ``amp``: switch the OptimWrapper to mmengine's AmpOptimWrapper."""
    if resume:
        cfg.resume = True
        if resume is not True:
            cfg.load_from = str(resume)
    if amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper == 'OptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
        elif wrapper != 'AmpOptimWrapper':
            raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper, got {wrapper}')


def make_resumable(cfg):
    """Every training Runner of this project resumes to the uninterrupted result:
    its generators' states go into each checkpoint (``RandomStateHook``) and its
    checkpoints and ``last_checkpoint`` are written atomically (the stock
    ``CheckpointHook`` becomes ``AtomicCheckpointHook``, same arguments)."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') in ('RandomStateHook', RandomStateHook) for h in hooks):
        hooks.append(dict(type='RandomStateHook'))
    cfg.custom_hooks = hooks
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint')
    if checkpoint is not None and checkpoint.get('type') in ('CheckpointHook', CheckpointHook):
        checkpoint['type'] = AtomicCheckpointHook.__name__   # registered on import
