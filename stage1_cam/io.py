"""On-disk formats shared by the pipeline's steps, written atomically.

Every writer here writes to a temporary file in the destination folder and
renames it into place, so a killed process never leaves a half-written file
under the final name.
"""
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

IGNORE_INDEX = 255


def voc_palette():
    """The 256-entry PASCAL VOC colour map as a flat list of 768 ints."""
    palette = []
    for index in range(256):
        r = g = b = 0
        c = index
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        palette += [r, g, b]
    return palette


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path, obj):
    with atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
            json.dump(obj, f, indent=1, sort_keys=False)
            f.write('\n')


def read_json(path):
    path = Path(path)
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'{path} is not valid JSON ({err}); regenerate or fix it.') from err


def write_label_png(path, label):
    """Write an HxW uint8 label map as a VOC-palette PNG (0 bg, 1..C, 255 ignore)."""
    label = np.asarray(label)
    if label.ndim != 2 or label.dtype != np.uint8:
        raise ValueError(f'label for {path} must be a 2-D uint8 array, got {label.dtype} {label.shape}')
    image = Image.fromarray(label, mode='P')
    image.putpalette(voc_palette())
    with atomic_path(path) as tmp:
        image.save(tmp, format='PNG')


def read_label_png(path):
    """Read a label PNG as HxW uint8 class indices (palette indices, not colours)."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            if image.mode not in ('P', 'L'):
                raise ValueError(
                    f'{path} is a {image.mode} image; label PNGs must hold class indices '
                    '(mode P with a palette, or L). Convert colour masks to indices first.')
            return np.array(image, dtype=np.uint8)
    except OSError as err:
        raise ValueError(f'cannot read label PNG {path}: {err}') from err


def write_npz(path, **arrays):
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            np.savez_compressed(f, **arrays)
