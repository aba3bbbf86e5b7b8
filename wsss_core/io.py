"""On-disk formats shared by the pipeline's steps, written atomically.

Every writer here writes to a temporary file in the destination folder and
renames it into place, so a killed process never leaves a half-written file
under the final name; the temporary files a kill -9 leaves (``.<name>.*.tmp``)
are removed by the step's next run (``remove_stale_temp_files``). A full disk
or an unwritable folder raises ``WriteError`` naming the file, with no
temporary file left.
"""
import errno
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from .classes import voc_palette
from .errors import UserError

IGNORE_INDEX = 255


class FileFormatError(UserError, ValueError):
    """A file of one of these formats is malformed; the message names it and the fix."""


TEMP_SUFFIX = '.tmp'

# Errors of the output folder, not of one input: a batch step stops on them
# instead of failing every remaining image the same way.
OUTPUT_ERRNOS = {errno.ENOSPC: 'the disk is full', errno.EDQUOT: 'the disk quota is exceeded',
                 errno.EACCES: 'permission denied', errno.EPERM: 'permission denied',
                 errno.EROFS: 'the file system is read-only'}


class WriteError(UserError, OSError):
    """An output file could not be written; the message names it and the fix."""

    def __init__(self, errno_, message):
        super().__init__(errno_, message)
        self.message = message

    def __str__(self):
        return self.message


def _write_error(path, err):
    reason = OUTPUT_ERRNOS.get(err.errno)
    if reason is None:
        return WriteError(err.errno, f'cannot write {path}: {err.strerror or err}')
    fix = 'free some space' if err.errno in (errno.ENOSPC, errno.EDQUOT) else \
        'make the folder writable'
    return WriteError(err.errno, f'cannot write {path}: {reason} ({err.strerror}); {fix} '
                                 'or choose another output folder. Nothing was left half-written.')


def is_output_error(err):
    """True for errors of the output folder (disk full, unwritable) rather than of one file."""
    return isinstance(err, OSError) and err.errno in OUTPUT_ERRNOS


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    On any failure the temporary file is removed and ``path`` is untouched; an
    OSError (disk full, unwritable folder) becomes a WriteError naming ``path``.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix=TEMP_SUFFIX, dir=path.parent)
        # mkstemp makes the file private (0600); give it the mode open() would.
        os.fchmod(fd, 0o666 & ~_umask())
        os.close(fd)
        yield Path(tmp)
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        if isinstance(err, WriteError):
            raise
        raise _write_error(path, err) from err
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def temp_file_target(name):
    """The file name a temporary file of ``atomic_path`` was for, or None."""
    if not (name.startswith('.') and name.endswith(TEMP_SUFFIX)):
        return None
    return name[1:-len(TEMP_SUFFIX)].rpartition('.')[0] or None


def remove_stale_temp_files(folder, targets=None, match=None):
    """Delete temporary files a killed run left in ``folder``; return how many.

    ``targets``: only those for these final file names (so concurrent shards
    writing other files into the same folder keep theirs); None: all.
    ``match``: only those whose final file name it accepts.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    removed = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            target = temp_file_target(entry.name)
            if target is not None and (targets is None or target in targets) and \
                    (match is None or match(target)):
                os.unlink(entry.path)
                removed += 1
    return removed


def write_lines(path, lines):
    """A text file of one item per line (split lists, id lists), atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(''.join(f'{line}\n' for line in lines))


def write_json(path, obj):
    with atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
            json.dump(obj, f, indent=1, sort_keys=False)
            f.write('\n')


def read_json(path):
    path = Path(path)
    try:
        with open(path) as f:
            return json.load(f, object_pairs_hook=lambda pairs: _unique_keys(path, pairs))
    except json.JSONDecodeError as err:
        raise FileFormatError(f'{path} is not valid JSON ({err}); regenerate or fix it.') from err


def _unique_keys(path, pairs):
    """A JSON object as a dict; a repeated key (e.g. an image id listed twice) is
    an error, since json would otherwise keep only the last value silently."""
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise FileFormatError(f'{path}: key {key!r} appears twice in one JSON object; '
                             'remove the duplicate entry.')
        obj[key] = value
    return obj


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
                raise FileFormatError(
                    f'{path} is a {image.mode} image; label PNGs must hold class indices '
                    '(mode P with a palette, or L). Convert colour masks to indices first.')
            return np.array(image, dtype=np.uint8)
    except OSError as err:
        raise FileFormatError(f'cannot read label PNG {path}: {err}') from err


def write_npz(path, **arrays):
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            np.savez_compressed(f, **arrays)


def sha256_of(path, chunk=1 << 20):
    """Hex digest of a file (checkpoint provenance in manifests and results)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()
