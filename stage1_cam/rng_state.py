"""Random-number state in checkpoints, so a resumed run continues the same draws.

mmengine's ``--resume`` restores weights, optimizer and schedulers, and
re-seeds the generators from the config's seed; the generators then restart
from that seed instead of continuing. Augmentation here is seeded per
(seed, epoch, index) and the sampler per (seed, epoch), but models also draw
from the global torch generator while training (BAS picks a random
ground-truth class per image per step, ICL drops attention at random): a
resumed run would diverge from the uninterrupted one. This hook writes the
torch / numpy / python generator states into every checkpoint and puts them
back just before the resumed training loop starts.

Under DDP the states of rank 0 are saved (it writes the checkpoint) and every
rank gets them back.
"""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from .registry import HOOKS

META_KEY = 'rng_state'


def capture():
    """The global generators' states, as tensors and lists (weights-only loadable)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {'torch': torch.get_rng_state(),
             'numpy': {'kind': kind, 'keys': torch.from_numpy(keys.astype(np.int64)),
                       'pos': int(pos), 'has_gauss': int(has_gauss), 'gauss': float(gauss)},
             'python': random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore(state):
    torch.set_rng_state(state['torch'])
    numpy_state = state['numpy']
    np.random.set_state((numpy_state['kind'], numpy_state['keys'].numpy().astype(np.uint32),
                         numpy_state['pos'], numpy_state['has_gauss'], numpy_state['gauss']))
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the generators' states with each checkpoint; restore them on resume."""

    priority = 'VERY_LOW'

    def __init__(self):
        self._resumed = None

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint.setdefault('meta', {})[META_KEY] = capture()

    def after_load_checkpoint(self, runner, checkpoint):
        # Applied in before_train: resuming still builds the optimizer and
        # schedulers after loading, and nothing may draw after the restore.
        self._resumed = checkpoint.get('meta', {}).get(META_KEY)

    def before_train(self, runner):
        # only a resumed run continues the draws (load_from alone starts afresh)
        if self._resumed is not None and getattr(runner, '_resume', False):
            restore(self._resumed)
            self._resumed = None
