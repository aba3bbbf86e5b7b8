"""Saving and loading this project's mmengine checkpoints under torch >= 2.6.

torch.load now defaults to ``weights_only=True``, which refuses the objects
mmengine stores beside the weights: the message hub's ``HistoryBuffer``,
numpy arrays and scalars, and - through ``HistoryBuffer.__getstate__`` - the
class's statistics functions, pickled as ``getattr(HistoryBuffer, 'min')``.
Allowing ``getattr`` would let any checkpoint run code, so instead:

* ``HistoryBuffer`` is pickled without those functions (it re-registers its
  defaults on load anyway), and
* exactly the remaining types are allow-listed.

Users need no ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``; a checkpoint written by a
stock mmengine (with the functions inside) still loads with that variable.

``AtomicCheckpointHook`` writes the checkpoints and ``last_checkpoint`` by
write-then-rename, so a kill never leaves a file that ``--resume`` trips on.
"""
import codecs
import os
import uuid

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import HistoryBuffer
from mmengine.registry import HOOKS

from .errors import UserError
from .io import TEMP_SUFFIX, atomic_path, remove_stale_temp_files


class CheckpointError(UserError, FileNotFoundError):
    """A checkpoint named on the command line is missing; says which file to pass."""


def _history_buffer_state(self):
    """HistoryBuffer's state without ``statistics_methods`` (functions)."""
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


def _numpy_types():
    core = getattr(np, '_core', None) or np.core
    types = [np.ndarray, np.dtype, core.multiarray._reconstruct, core.multiarray.scalar,
             codecs.encode]
    # numpy >= 1.25 pickles dtypes as instances of per-type classes (np.dtypes.Float64DType ...)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        types += [getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')]
    return types


def allow_mmengine_checkpoints():
    """Make mmengine checkpoints save and load with ``weights_only=True`` (idempotent)."""
    HistoryBuffer.__getstate__ = _history_buffer_state
    torch.serialization.add_safe_globals([HistoryBuffer, *_numpy_types()])


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's CheckpointHook, with every file written atomically.

    The stock hook writes ``epoch_N.pth`` / ``iter_N.pth`` in place and then
    ``last_checkpoint`` with ``open(..., 'w')``: a kill during either leaves a
    truncated checkpoint or an empty pointer, and ``--resume`` fails on it.
    Here the checkpoint goes to a temporary file renamed into place, the
    pointer is replaced atomically, and an old checkpoint beyond
    ``max_keep_ckpts`` is deleted only after both (so the pointer never names
    a deleted file). Temporary files a kill left are removed when training
    starts. Remote back-ends (``out_dir`` not on a local disk) and the
    ``save_best`` checkpoints keep the stock behaviour.
    """

    def before_train(self, runner):
        super().before_train(runner)
        if self._local() and is_main_process():
            remove_stale_temp_files(self.out_dir, targets=None, match=_is_checkpoint_temp)

    def _local(self):
        return isinstance(self.file_backend, LocalBackend)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not self._local():
            return super()._save_checkpoint_with_step(runner, step, meta)
        # The kept ids go into the checkpoint's message hub (a resumed run reads
        # them), so they are updated first; the dropped file is deleted last.
        dropped = self._keep(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = os.path.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        temp = os.path.join(self.out_dir, f'.{filename}.{uuid.uuid4().hex[:8]}{TEMP_SUFFIX}')
        try:
            runner.save_checkpoint(self.out_dir, os.path.basename(temp), self.file_client_args,
                                   save_optimizer=self.save_optimizer,
                                   save_param_scheduler=self.save_param_scheduler, meta=meta,
                                   by_epoch=self.by_epoch, backend_args=self.backend_args,
                                   **self.args)
            if is_main_process():
                os.replace(temp, self.last_ckpt)
        finally:
            if is_main_process() and os.path.exists(temp):
                os.unlink(temp)
        if not is_main_process():
            return
        with atomic_path(os.path.join(runner.work_dir, 'last_checkpoint')) as tmp:
            tmp.write_text(self.last_ckpt)
        if dropped is not None and os.path.isfile(dropped):
            os.unlink(dropped)

    def _keep(self, runner, step):
        """``max_keep_ckpts``: record ``step`` as kept; the path of the checkpoint
        that falls out (deleted once the new one is in place), or None."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            return None
        dropped = None
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            dropped = os.path.join(self.out_dir,
                                   self.filename_tmpl.format(self.keep_ckpt_ids.popleft()))
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        return dropped


def _is_checkpoint_temp(target):
    return target.endswith('.pth') or target == 'last_checkpoint'
