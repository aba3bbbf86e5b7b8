"""CUB-200-2011 as a single-label image source with boxes.

Layout (the official release, ``CUB_200_2011/``)::

    images/<class folder>/<file>.jpg
    images.txt               <image id> <path under images/>
    image_class_labels.txt   <image id> <class id 1..200>
    bounding_boxes.txt       <image id> <x> <y> <width> <height>   (pixels, float)
    train_test_split.txt     <image id> <1 train | 0 test>
    classes.txt              <class id> <class name>

Ids are CUB's image ids (strings). ``boxes(id)`` is (N, 4) x1, y1, x2, y2 =
x, y, x + width, y + height in the original image (wsolevaluation's reading
of the file); CUB has one box per image, but several lines per id are
accepted (all are kept).
"""
from pathlib import Path

import numpy as np

from ..datasets.base import DatasetError, ImageSource
from ..registry import SOURCES

CUB_FILES = ('images.txt', 'image_class_labels.txt', 'bounding_boxes.txt',
             'train_test_split.txt', 'classes.txt')
SPLIT_CODES = {'train': '1', 'test': '0'}


def read_table(path, columns, kinds):
    """Rows of a whitespace table as {first column: [rest...]} (lists, for repeats).

    ``kinds``: a converter per column after the first; a bad line is an
    error naming the file and the line.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f'{path} not found; the CUB-200-2011 folder must hold '
                           f'{", ".join(CUB_FILES)} (pass data_root=<...>/CUB_200_2011).')
    rows = {}
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.split(None, columns - 1) if columns == 2 else line.split()
            if len(parts) != columns:
                raise DatasetError(f'{path}:{line_no}: expected {columns} columns, got '
                                   f'{len(parts)}: {line.strip()!r}. Fix or re-download the file.')
            try:
                values = [convert(p.strip()) for convert, p in zip(kinds, parts[1:])]
            except ValueError:
                raise DatasetError(f'{path}:{line_no}: cannot parse {line.strip()!r}; expected '
                                   'numbers after the image id. Fix or re-download the file.') \
                    from None
            rows.setdefault(parts[0], []).append(values)
    if not rows:
        raise DatasetError(f'{path} is empty; re-download CUB-200-2011.')
    return rows


def _single(rows, path, image_id):
    values = rows.get(image_id)
    if values is None:
        raise DatasetError(f'image id {image_id} of images.txt has no line in {path}; '
                           'the CUB files disagree: re-download or fix the file.')
    if len(values) > 1:
        raise DatasetError(f'{path}: image id {image_id} is listed {len(values)} times; '
                           'remove the repeated lines.')
    return values[0]


@SOURCES.register_module(name='CUB')
class CUBSource(ImageSource):
    """The ``train`` or ``test`` split of a CUB-200-2011 folder (see the module docstring)."""

    def __init__(self, data_root, split='train'):
        super().__init__()
        if split not in SPLIT_CODES:
            raise DatasetError(f'unknown CUB split {split!r}; choose train or test.')
        self.data_root = Path(data_root)
        if not self.data_root.is_dir():
            raise DatasetError(f'CUB folder not found: {self.data_root}. Pass the '
                               'CUB_200_2011 folder (with images/ and images.txt) as data_root.')
        self.split = split
        root = self.data_root
        classes = read_table(root / 'classes.txt', 2, [str])
        try:
            order = sorted(classes, key=int)
        except ValueError:
            raise DatasetError(f'{root / "classes.txt"}: class ids must be integers.') from None
        if [int(c) for c in order] != list(range(1, len(order) + 1)):
            raise DatasetError(f'{root / "classes.txt"}: class ids must be 1..C without gaps.')
        self.class_names = [_single(classes, root / 'classes.txt', c)[0] for c in order]

        paths = read_table(root / 'images.txt', 2, [str])
        labels = read_table(root / 'image_class_labels.txt', 2, [int])
        splits = read_table(root / 'train_test_split.txt', 2, [str])
        boxes = read_table(root / 'bounding_boxes.txt', 5, [float] * 4)
        self._paths, self._boxes = {}, {}
        for image_id in sorted(paths, key=lambda i: (len(i), i)):
            flag = _single(splits, root / 'train_test_split.txt', image_id)[0]
            if flag not in ('0', '1'):
                raise DatasetError(f'{root / "train_test_split.txt"}: image id {image_id} has '
                                   f'split flag {flag!r}; use 1 (train) or 0 (test).')
            if flag != SPLIT_CODES[split]:
                continue
            label = _single(labels, root / 'image_class_labels.txt', image_id)[0]
            if not 1 <= label <= len(self.class_names):
                raise DatasetError(f'{root / "image_class_labels.txt"}: image id {image_id} has '
                                   f'class {label}, outside 1..{len(self.class_names)} of '
                                   'classes.txt.')
            if image_id not in boxes:
                raise DatasetError(f'image id {image_id} has no line in '
                                   f'{root / "bounding_boxes.txt"}; add its box.')
            xywh = np.asarray(boxes[image_id], np.float64)
            if (xywh[:, 2:] < 0).any():
                raise DatasetError(f'{root / "bounding_boxes.txt"}: image id {image_id} has a '
                                   'negative width or height.')
            self.ids.append(image_id)
            self._paths[image_id] = root / 'images' / _single(paths, root / 'images.txt',
                                                              image_id)[0]
            self._labels[image_id] = [label]
            self._boxes[image_id] = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
        if not self.ids:
            raise DatasetError(f'{root / "train_test_split.txt"} puts no image in the {split} '
                               'split.')

    def image_path(self, image_id):
        return self._paths[image_id]

    def boxes(self, image_id):
        """(N, 4) float x1, y1, x2, y2 in original-image pixels."""
        return self._boxes[image_id].copy()
