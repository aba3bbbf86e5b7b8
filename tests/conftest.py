import os
import sys
from pathlib import Path

# One OpenMP thread per process: the suite runs training in this process and CRF
# worker pools beside it on 2-core machines, where OpenMP threads spinning
# against busy cores slow torch down by orders of magnitude. Set before torch loads.
os.environ.setdefault('OMP_NUM_THREADS', '1')

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# Real VOC/COCO samples live beside the checkout (never copied into it).
SHARED_REAL = Path(os.environ.get('WSSS_SHARED_DATA', REPO_ROOT.parent / 'shared' / 'data' / 'real'))


@pytest.fixture(scope='session')
def real_data():
    """Root of ../shared/data/real; skips the test when it is absent."""
    if not SHARED_REAL.is_dir():
        pytest.skip(f'real data samples not found at {SHARED_REAL} (only present in the dev checkout)')
    return SHARED_REAL
