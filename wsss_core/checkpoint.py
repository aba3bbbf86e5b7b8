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
"""
import codecs

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from .errors import UserError


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
