import os
from pathlib import Path

# One OpenMP thread per process: the suite runs training in this process and CRF
# worker pools beside it on 2-core machines, where OpenMP threads spinning
# against busy cores slow torch down by orders of magnitude. Set before torch loads.
os.environ.setdefault('OMP_NUM_THREADS', '1')

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# The packages import through `pip install -e .` (tools/install.sh) and, in this
# process, through pytest.ini's `pythonpath = .`. The tools the tests start as
# subprocesses get the checkout on PYTHONPATH as well, so the suite also runs
# from a clean clone before the editable install.
os.environ['PYTHONPATH'] = os.pathsep.join(
    [str(REPO_ROOT), *filter(None, [os.environ.get('PYTHONPATH')])])

# Real VOC/COCO samples live beside the checkout (never copied into it).
SHARED_REAL = Path(os.environ.get('WSSS_SHARED_DATA', REPO_ROOT.parent / 'shared' / 'data' / 'real'))


@pytest.fixture(scope='session')
def real_data():
    """Root of ../shared/data/real; skips the test when it is absent."""
    if not SHARED_REAL.is_dir():
        pytest.skip(f'real data samples not found at {SHARED_REAL} (only present in the dev checkout)')
    return SHARED_REAL
