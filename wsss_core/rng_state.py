"""Random-number state in checkpoints, so a resumed run continues the same draws
(both stages: every Runner this project builds gets the hook, see
``runner_options.make_resumable``).

mmengine's ``--resume`` restores weights, optimizer and schedulers, and
re-seeds the generators from the config's seed; the generators then restart
from that seed instead of continuing. Augmentation here is seeded per
(seed, epoch, index) in stage 1, but models also draw from the global torch
generator while training (BAS picks a random ground-truth class per image per
step, ICL drops attention at random, dropout), and stage 2's mmseg transforms
draw from numpy's global generator: a resumed run would diverge from the
uninterrupted one. This hook writes the torch / numpy / python generator
states into every checkpoint and puts them back where the uninterrupted run
stood when it saved them:

* epoch-based loops (stage 1): just before the resumed loop starts;
* iteration-based loops (stage 2): mmengine's resumed loop first draws again
  every batch trained before the checkpoint, to skip it, which runs those
  batches' random transforms once more; the states are put back after the
  last skipped batch, just before the first new one is drawn.

Under DDP the states of rank 0 are saved (it writes the checkpoint) and every
rank gets them back.
"""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import IterBasedTrainLoop

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


class _RestoreAfterSkipping:
    """The resumed loop's data iterator: restores the generators' states once
    the batches trained before the checkpoint have been drawn again."""

    def __init__(self, iterator, skip, state):
        self._iterator, self._skip, self._state = iterator, skip, state

    def __iter__(self):
        return self

    def __next__(self):
        batch = next(self._iterator)
        if self._skip > 0:
            self._skip -= 1
            if self._skip == 0:
                restore(self._state)
                self._state = None
        return batch

    def __getattr__(self, name):
        return getattr(self._iterator, name)


# In mmengine's root registry, so that both stages' scopes (stage1_cam, mmseg) find it.
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
        if self._resumed is None or not getattr(runner, '_resume', False):
            return
        state, self._resumed = self._resumed, None
        loop = runner.train_loop
        skip = loop.iter if isinstance(loop, IterBasedTrainLoop) else 0
        if skip > 0:
            loop.dataloader_iterator = _RestoreAfterSkipping(loop.dataloader_iterator, skip, state)
        else:
            restore(state)
