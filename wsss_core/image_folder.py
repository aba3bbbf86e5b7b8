"""A plain folder of photographs (and one of masks) indexed by image id.

Both stages read a user's own folder (``dataset.kind='folder'``): stage 1 by
id through ``stage1_cam.datasets.folder.FolderSource``, stage 2 through
``stage2_seg.datasets.folder.FolderLabelDirDataset``. The id of
``images/beach/dog 1.jpg`` is ``beach__dog 1``: the path below the folder,
without its extension, with ``/`` written ``__``, so ids are flat file names
(the pseudo-label folder holds ``labels/<id>.png``) and a nested folder keeps
every name apart. A mask belongs to the image whose id it has: a mask folder
may mirror the image folder (``masks/beach/dog 1.png``) or be flat
(``masks/beach__dog 1.png``).
"""
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .dataset_files import DatasetError

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png')
MASK_EXTENSIONS = ('.png',)
ID_SEPARATOR = '__'
EXIF_ORIENTATION = 0x0112   # values 5-8 turn the picture by 90 degrees


def image_id(relative_path):
    """The id of a file at ``relative_path`` (below the indexed folder)."""
    path = Path(relative_path)
    return ID_SEPARATOR.join(path.with_suffix('').parts)


def index_folder(root, extensions=IMAGE_EXTENSIONS, what='image'):
    """{id: absolute path} of every file under ``root`` (nested folders too)
    whose extension is one of ``extensions`` (any case), sorted by id.

    Hidden files and folders are skipped. Two files with one id (``a.jpg`` and
    ``a.png``, or ``x/y.jpg`` and ``x__y.jpg``) are an error naming both.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f'{what} folder not found: {root}; pass the folder that holds the '
                           f'{what}s.')
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for name in sorted(files):
            if name.startswith('.') or Path(name).suffix.lower() not in extensions:
                continue
            path = Path(folder) / name
            key = image_id(path.relative_to(root))
            if key in found:
                raise DatasetError(
                    f'{found[key]} and {path} both have the image id {key!r} (the path without '
                    f'its extension, "/" as "{ID_SEPARATOR}"); rename one of them.')
            found[key] = path.resolve()
    return dict(sorted(found.items()))


def lookup_table(index, root):
    """Every name an image may be given by in a labels file: its id, its path
    below ``root`` with and without the extension (``/`` separated)."""
    root = Path(root).resolve()
    table = {}
    for key, path in index.items():
        relative = path.relative_to(root).as_posix()
        for name in (key, relative, relative.rsplit('.', 1)[0]):
            table.setdefault(name, key)
    return table


# Photographs from phones and cameras often store the sensor's pixels with an
# EXIF orientation tag. mmseg's loader (OpenCV) applies the tag, PIL does not:
# read the folder the way stage 2 will, or pseudo-labels and masks would be
# transposed against the images stage 2 trains on.

def oriented_size(path):
    """(height, width) of the image as displayed (EXIF orientation applied), from
    the header; DatasetError naming an unreadable file."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        raise DatasetError(f'cannot read image {path}: {err}; replace or remove it.') from err
    return (width, height) if orientation in (5, 6, 7, 8) else (height, width)


def read_oriented_rgb(path):
    """HxWx3 uint8 RGB of the image as displayed (EXIF orientation applied; grey,
    palette, CMYK converted, alpha dropped); DatasetError naming a broken file."""
    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode != 'RGB':
                image = image.convert('RGBA').convert('RGB') if 'A' in image.getbands() \
                    else image.convert('RGB')
            return np.asarray(image, dtype=np.uint8).copy()
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        raise DatasetError(f'cannot decode image {path}: {err}. The file is corrupt or '
                           'truncated: replace it, or remove its row from the labels file.') from err
