"""A user's own photographs as an image source: a folder, a labels file, optional masks.

::

    images/                  jpg/png, nested folders allowed (ids: wsss_core.image_folder)
    labels.csv               image,labels   with class names, ';'-separated:
                             beach/dog 1.jpg,dog;person
    masks/                   optional, any subset of the images: palette or grey PNGs
                             (0 background, 1..C in the class order, 255 ignore)

The labels file may also be JSON: ``{"image": ["dog", "person"], ...}``, or the
project's labels JSON (``{"class_names": [...], "labels": {"id": [1, 2]}}``).
Images are named by their path below the image folder, with or without the
extension, or by their id. The classes and their order are those of the
labels file (order of first appearance) unless ``class_names`` gives them
(a list, or a text file with one name a line; ``_background_``/``background``
lines are skipped, as labelme writes them).

Images are read with their EXIF orientation applied (as mmseg's loader does),
so a photo taken upright is upright in both stages and its mask matches it.

Each problem is an error naming the file and line: a class that is not one of
``class_names``, an image that is listed but not in the folder, a row without
labels, a mask whose size differs from its image's.
"""
import csv
import json
from pathlib import Path

from wsss_core.image_folder import (MASK_EXTENSIONS, index_folder, lookup_table, oriented_size,
                                    read_oriented_rgb)
from wsss_core.io import read_label_png

from ..registry import SOURCES
from .base import DatasetError, ImageSource, read_split_list

BACKGROUND_NAMES = ('_background_', 'background', '__background__')
LABEL_SEPARATOR = ';'


def read_class_names(value):
    """Class names from a list or a text file (one a line); background lines skipped."""
    if value is None:
        return None
    if isinstance(value, (str, Path)):
        path = Path(value)
        if not path.is_file():
            raise DatasetError(f'class names file not found: {path}; give a text file with one '
                               'class name a line, or a list of names.')
        names = [line.strip() for line in path.read_text().splitlines()]
    else:
        names = [str(n).strip() for n in value]
    names = [n for n in names if n and n.lower() not in BACKGROUND_NAMES]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise DatasetError(f'class names {value if isinstance(value, (str, Path)) else ""} list '
                           f'{duplicate!r} twice; every class once.')
    if not names:
        raise DatasetError(f'no class names in {value!r}.')
    return names


def _rows_csv(path):
    """(line number, image name, [class names]) of a CSV labels file."""
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.reader(f)
        rows = []
        for row in reader:
            line = reader.line_num
            if not row or not ''.join(row).strip() or row[0].lstrip().startswith('#'):
                continue
            if line == 1 and row[0].strip().lower() in ('image', 'file', 'filename', 'path'):
                continue  # the header
            if len(row) < 2:
                raise DatasetError(f'{path}:{line}: expected "image,labels" (class names '
                                   f'separated by "{LABEL_SEPARATOR}"), got {",".join(row)!r}.')
            # An unquoted comma inside the labels splits them into more columns.
            labels = LABEL_SEPARATOR.join(row[1:]).replace(',', LABEL_SEPARATOR)
            names = [n.strip() for n in labels.split(LABEL_SEPARATOR) if n.strip()]
            rows.append((line, row[0].strip(), names))
    return rows


def _line_of(text, key):
    """The line of ``"key"`` in a JSON text (for error messages), or None."""
    needle = json.dumps(key)
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    return None


def _rows_json(path):
    """(line, image name, [class names or 1-based indices]), plus the file's class list."""
    text = Path(path).read_text(encoding='utf-8')
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DatasetError(f'{path}:{err.lineno}: not valid JSON ({err.msg}).') from None
    declared = None
    if isinstance(data, dict) and 'labels' in data and isinstance(data['labels'], dict):
        declared = data.get('class_names')
        data = data['labels']
    if not isinstance(data, dict):
        raise DatasetError(f'{path}: expected a JSON object {{"image": ["class", ...]}}.')
    rows = []
    for name, labels in data.items():
        line = _line_of(text, name)
        if isinstance(labels, str):
            labels = [n.strip() for n in labels.split(LABEL_SEPARATOR) if n.strip()]
        if not isinstance(labels, list):
            raise DatasetError(f'{path}:{line}: the labels of {name!r} must be a list of class '
                               f'names, got {labels!r}.')
        rows.append((line, name, labels))
    return rows, declared


def read_image_labels(labels_file, index, image_root, class_names=None):
    """(class names, {id: sorted 1-based class indices}, {id: line}) of a labels file.

    ``index``: the image folder's {id: path} (``index_folder``); every row
    must name one of its images, and every class one of ``class_names``
    (when given; otherwise the classes in order of first appearance).
    """
    path = Path(labels_file)
    if not path.is_file():
        raise DatasetError(f'labels file not found: {path}; give a CSV with rows "image,labels" '
                           f'(class names separated by "{LABEL_SEPARATOR}") or a JSON object.')
    if path.suffix.lower() == '.json':
        rows, declared = _rows_json(path)
    else:
        rows, declared = _rows_csv(path), None
    if declared and class_names is not None and list(class_names) != read_class_names(declared):
        raise DatasetError(f'{path} declares the classes {read_class_names(declared)[:4]}..., '
                           f'but {list(class_names)[:4]}... were given; drop the class list '
                           '(the file\'s is used) or make the two agree.')
    names = list(class_names) if class_names is not None else \
        read_class_names(declared) if declared else None
    fixed = names is not None
    names = names or []
    table = lookup_table(index, image_root)
    labels, lines = {}, {}
    for line, image, classes in rows:
        where = f'{path}:{line}' if line else str(path)
        key = table.get(image) or table.get(image.replace('\\', '/'))
        if key is None:
            raise DatasetError(f'{where}: image {image!r} is not in {image_root} (looked for '
                               f'that path below it, with .jpg/.jpeg/.png); fix the name or add '
                               'the file.')
        if key in labels:
            raise DatasetError(f'{where}: image {image!r} is listed a second time (first on line '
                               f'{lines[key]}); give each image one row.')
        if not classes:
            raise DatasetError(f'{where}: image {image!r} has no class; an image without '
                               'objects cannot train the classifier: drop the row.')
        indices = set()
        for cls in classes:
            if isinstance(cls, int) and not isinstance(cls, bool):
                if not 1 <= cls <= len(names):
                    raise DatasetError(f'{where}: class index {cls} of {image!r} is outside '
                                       f'1..{len(names)} (1-based, 0 is background).')
                indices.add(cls)
                continue
            cls = str(cls).strip()
            if cls not in names:
                if fixed:
                    raise DatasetError(
                        f'{where}: class {cls!r} of {image!r} is not one of the '
                        f'{len(names)} classes ({", ".join(names[:6])}'
                        f'{", ..." if len(names) > 6 else ""}); fix the name or add the class '
                        'to the class list.')
                names.append(cls)
            indices.add(names.index(cls) + 1)
        labels[key] = sorted(indices)
        lines[key] = line
    if not labels:
        raise DatasetError(f'{path} names no image.')
    return names, labels, lines


def image_size(path):
    """(height, width) as displayed (EXIF orientation applied), from the header."""
    return oriented_size(path)


@SOURCES.register_module(name='Folder')
class FolderSource(ImageSource):
    """Images of a folder, image-level labels of a CSV/JSON file, optional masks.

    Args:
        image_dir: the image folder (also ``data_root``: ``--data-root`` moves it).
        labels_file: CSV or JSON (module docstring).
        mask_dir: optional folder of masks for scoring.
        class_names: the classes in label order (list or text file); default:
            the labels file's.
        split: a key of ``splits``, or None / ``'all'``: every labelled image.
        splits: {name: list file of ids (one a line)}.
    """

    def __init__(self, image_dir, labels_file, mask_dir=None, class_names=None, split=None,
                 splits=None, data_root=None):
        super().__init__()
        self.image_dir = Path(data_root or image_dir)
        self.data_root = self.image_dir
        self.gt_dir = Path(mask_dir) if mask_dir else None
        self.split = split
        self._index = index_folder(self.image_dir, what='image')
        if not self._index:
            raise DatasetError(f'{self.image_dir} holds no .jpg/.jpeg/.png image.')
        self.class_names, self._labels, self._lines = read_image_labels(
            labels_file, self._index, self.image_dir, read_class_names(class_names))
        self.labels_file = Path(labels_file)
        self._masks = index_folder(self.gt_dir, MASK_EXTENSIONS, what='mask') \
            if self.gt_dir is not None else {}
        unknown_masks = [k for k in self._masks if k not in self._index]
        if unknown_masks:
            raise DatasetError(
                f'mask {self._masks[unknown_masks[0]]} has no image in {self.image_dir} (id '
                f'{unknown_masks[0]!r}; {len(unknown_masks)} such mask(s)); masks mirror the '
                'image folder: remove it or fix its name.')
        self.ids = self._split_ids(split, dict(splits or {}))

    def _split_ids(self, split, splits):
        if split in (None, 'all'):
            return sorted(self._labels)
        if split not in splits:
            raise DatasetError(f'split {split!r} of {self.image_dir} is not one of '
                               f'{sorted(splits) or ["all"]}; name a split given in splits.')
        split_file = Path(splits[split])
        ids = read_split_list(split_file)
        for number, image_id in enumerate(ids, 1):
            if image_id not in self._labels:
                where = 'is not in ' + str(self.image_dir) if image_id not in self._index \
                    else f'has no row in {self.labels_file}'
                raise DatasetError(f'{split_file}: image {image_id!r} (entry {number}) {where}; '
                                   'fix the split list.')
        return ids

    @property
    def images(self):
        """{id: path} of every image in the folder (labelled or not)."""
        return dict(self._index)

    def image_path(self, image_id):
        try:
            return self._index[image_id]
        except KeyError:
            raise DatasetError(f'no image with id {image_id!r} in {self.image_dir}.') from None

    def image(self, image_id):
        """The image as displayed (EXIF orientation applied), as stage 2 reads it."""
        return read_oriented_rgb(self.image_path(image_id))

    def gt_path(self, image_id):
        return self._masks.get(image_id)

    @property
    def ids_with_masks(self):
        return [i for i in self.ids if i in self._masks]

    def check_mask(self, image_id):
        """Raise DatasetError when the mask differs in size from its image (headers only)."""
        path = self._masks[image_id]
        mask_hw, image_hw = image_size(path), image_size(self._index[image_id])
        if mask_hw != image_hw:
            raise DatasetError(
                f'mask {path} is {mask_hw[1]}x{mask_hw[0]} but image {self._index[image_id]} is '
                f'{image_hw[1]}x{image_hw[0]} (WxH); masks must match their image pixel for '
                'pixel: resize it (nearest neighbour) or remove it.')

    def gt_mask(self, image_id):
        """HxW uint8 (0 background, 1..C, 255 ignore), or None without a mask."""
        path = self._masks.get(image_id)
        if path is None:
            return None
        self.check_mask(image_id)
        try:
            mask = read_label_png(path)
        except ValueError as err:
            raise DatasetError(str(err)) from err
        bad = sorted(set(mask[(mask > self.num_classes) & (mask != 255)].tolist()))
        if bad:
            raise DatasetError(
                f'mask {path} holds values {bad[:5]} outside 0..{self.num_classes} and 255 '
                f'(this dataset has {self.num_classes} classes: {", ".join(self.class_names[:5])}'
                f'{", ..." if self.num_classes > 5 else ""}); fix the mask or the class list.')
        return mask
