"""Loading this project's mmengine checkpoints under torch >= 2.6.

torch.load now defaults to ``weights_only=True``, which refuses the objects
mmengine stores beside the weights (the message hub's HistoryBuffer, numpy
scalars and arrays). Rather than switching the safe loader off (users would
need TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1), we allow-list exactly those types.
"""
import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def _numpy_types():
    types = [np.ndarray, np.dtype, np.core.multiarray._reconstruct, np.core.multiarray.scalar]
    # numpy >= 1.25 pickles dtypes as instances of per-type classes (np.dtypes.Float64DType ...)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        types += [getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')]
    return types


def allow_mmengine_checkpoints():
    """Allow-list the non-tensor types found in mmengine checkpoints (idempotent)."""
    torch.serialization.add_safe_globals([HistoryBuffer, *_numpy_types()])
