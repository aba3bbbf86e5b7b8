"""Precision of BAS's background branch (``background_dtype`` in the model config).

The branch re-runs the later stage on the erased features only to score the
background (S_bg in L_bas, a ratio clipped at 1), and its gradient goes to the
generator alone. Computing it in bfloat16 leaves the demo's seed and
pseudo-label mIoU as they were (within run-to-run noise) and makes the branch
faster where the hardware multiplies bfloat16 natively (the A/B measurements:
benchmarks/README.md and benchmarks/results/). Where it does not, bfloat16 is
emulated and slower, hence ``'auto'``.

* ``'float32'``: the reference's arithmetic (default);
* ``'bfloat16'``: autocast the branch to bfloat16 on any device;
* ``'auto'``: bfloat16 where ``native_bfloat16(device)``, else float32.
"""
import contextlib
import logging

import torch

logger = logging.getLogger(__name__)

BACKGROUND_DTYPES = ('float32', 'bfloat16', 'auto')


def native_bfloat16(device):
    """Whether ``device`` computes bfloat16 convolutions in hardware: a CUDA GPU
    of compute capability 8.0+ (Ampere on), a CPU with AMX or AVX512-BF16."""
    device = torch.device(device)
    if device.type == 'cuda':
        return torch.cuda.is_available() and torch.cuda.get_device_capability(device)[0] >= 8
    if device.type == 'cpu':
        probes = ('_is_amx_tile_supported', '_is_avx512_bf16_supported')
        return any(getattr(torch.cpu, name, lambda: False)() for name in probes)
    return False


def check_background_dtype(setting):
    if setting not in BACKGROUND_DTYPES:
        raise ValueError(f'background_dtype must be one of {list(BACKGROUND_DTYPES)}, '
                         f'got {setting!r}')
    return setting


_announced = set()


def resolve_background_dtype(setting, device):
    """``setting`` -> torch.float32 or torch.bfloat16 for a branch on ``device``."""
    check_background_dtype(setting)
    device = torch.device(device)
    if setting == 'auto':
        dtype = torch.bfloat16 if native_bfloat16(device) else torch.float32
        if device.type not in _announced:  # once per process and device type
            _announced.add(device.type)
            logger.info("BAS background branch: background_dtype='auto' -> %s on %s",
                        str(dtype).replace('torch.', ''), device.type)
        return dtype
    return torch.bfloat16 if setting == 'bfloat16' else torch.float32


def background_precision(setting, device):
    """Context for the background branch: autocast to bfloat16 or nothing."""
    dtype = resolve_background_dtype(setting, device)
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)
