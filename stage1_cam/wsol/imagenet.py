"""ImageNet (ILSVRC 2012) as a single-label image source with boxes.

Layout under ``data_root``::

    train/<wnid>/<file>.JPEG        class folders (ids: file stems)
    val/<file>.JPEG  or  val/<wnid>/<file>.JPEG
    LOC_synset_mapping.txt          optional: "<wnid> <name, ...>" per line; the
                                    class order (else: sorted train/ folders)
    <box list>                      boxes of the split (required for val)

Box lists, either format (chosen by the header line):

* this project's CSV, header ``image,wnid,x1,y1,x2,y2``, one row per box;
  ``image`` is the file stem (or its path under the split folder);
* Kaggle's ``LOC_val_solution.csv`` / ``LOC_train_solution.csv``, header
  ``ImageId,PredictionString``; the string holds ``wnid x1 y1 x2 y2`` groups.

Boxes are pixels of the original image, x1, y1, x2, y2 as given in the file.
For ``val`` the images are those of the box list; for ``train`` those of the
class folders (``boxes`` then needs ``box_file``). Every box of an image
must name the same class: the images are single-label.
"""
import csv
import os
from pathlib import Path

import numpy as np

from ..datasets.base import DatasetError, ImageSource
from ..registry import SOURCES

IMAGE_SUFFIXES = ('.jpeg', '.jpg', '.png')
DEFAULT_BOX_FILES = {'val': ('val_boxes.csv', 'LOC_val_solution.csv'),
                     'train': ('train_boxes.csv', 'LOC_train_solution.csv')}


def read_synsets(path):
    """wnids (in file order) and their names from LOC_synset_mapping.txt."""
    wnids, names = [], []
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.strip().split(None, 1)
            if not parts[0].startswith('n'):
                raise DatasetError(f'{path}:{line_no}: expected "<wnid> <name>", got '
                                   f'{line.strip()!r}.')
            wnids.append(parts[0])
            names.append(parts[1].split(',')[0].strip() if len(parts) > 1 else parts[0])
    if len(set(wnids)) != len(wnids):
        raise DatasetError(f'{path} lists a wnid twice; remove the repeated line.')
    return wnids, names


def read_box_list(path):
    """{image stem or path: (wnid, [[x1, y1, x2, y2], ...])} from either box-list format."""
    path = Path(path)
    boxes = {}

    def add(image, wnid, box, where):
        old = boxes.setdefault(image, (wnid, []))
        if old[0] != wnid:
            raise DatasetError(f'{where}: image {image} has boxes of {old[0]} and {wnid}; '
                               'images are single-label (one class per image).')
        if box[2] < box[0] or box[3] < box[1]:
            raise DatasetError(f'{where}: box {box} of {image} has x2 < x1 or y2 < y1.')
        old[1].append(box)

    with open(path, newline='') as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        if header == ['image', 'wnid', 'x1', 'y1', 'x2', 'y2']:
            for line_no, row in enumerate(reader, 2):
                if not row:
                    continue
                try:
                    box = [float(v) for v in row[2:6]]
                    if len(row) != 6:
                        raise ValueError
                except ValueError:
                    raise DatasetError(f'{path}:{line_no}: expected image,wnid,x1,y1,x2,y2, '
                                       f'got {row}.') from None
                add(row[0].strip(), row[1].strip(), box, f'{path}:{line_no}')
        elif header == ['ImageId', 'PredictionString']:
            for line_no, row in enumerate(reader, 2):
                if not row:
                    continue
                tokens = row[1].split() if len(row) > 1 else []
                if not tokens or len(tokens) % 5:
                    raise DatasetError(f'{path}:{line_no}: PredictionString must be groups of '
                                       f'"wnid x1 y1 x2 y2", got {row[1:]!r}.')
                for i in range(0, len(tokens), 5):
                    try:
                        box = [float(v) for v in tokens[i + 1:i + 5]]
                    except ValueError:
                        raise DatasetError(f'{path}:{line_no}: bad box {tokens[i:i + 5]}.') \
                            from None
                    add(row[0].strip(), tokens[i], box, f'{path}:{line_no}')
        else:
            raise DatasetError(f'{path}: unknown box-list header {header}; use '
                               '"image,wnid,x1,y1,x2,y2" or Kaggle\'s "ImageId,PredictionString".')
    if not boxes:
        raise DatasetError(f'{path} lists no boxes.')
    return boxes


def _stem(name):
    return os.path.splitext(os.path.basename(name))[0]


@SOURCES.register_module(name='ImageNet')
class ImageNetSource(ImageSource):
    """One split of an ImageNet folder (see the module docstring)."""

    def __init__(self, data_root, split='val', box_file=None, synset_file=None):
        super().__init__()
        self.data_root = Path(data_root)
        self.split = split
        split_dir = self.data_root / split
        if not split_dir.is_dir():
            raise DatasetError(f'ImageNet split folder not found: {split_dir}. data_root must '
                               f'hold {split}/ (class folders for train).')
        self._set_classes(synset_file)
        self.box_file = self._find_box_file(box_file, required=(split != 'train'))
        self._boxes = {}
        self._paths = {}
        if split == 'train':
            self._index_class_folders(split_dir)
            if self.box_file is not None:
                for name, (wnid, boxes) in read_box_list(self.box_file).items():
                    if _stem(name) in self._paths:
                        self._boxes[_stem(name)] = np.asarray(boxes, np.float64)
        else:
            self._index_box_list(split_dir)
        if not self.ids:
            raise DatasetError(f'no images found for split {split} under {split_dir}.')

    def _set_classes(self, synset_file):
        synset_file = Path(synset_file) if synset_file else \
            self.data_root / 'LOC_synset_mapping.txt'
        if synset_file.is_file():
            self.wnids, self.class_names = read_synsets(synset_file)
        else:
            train_dir = self.data_root / 'train'
            if not train_dir.is_dir():
                raise DatasetError(f'neither {synset_file} nor {train_dir} exists: the class '
                                   'list comes from LOC_synset_mapping.txt or the train/ folders.')
            self.wnids = sorted(e.name for e in os.scandir(train_dir) if e.is_dir())
            self.class_names = list(self.wnids)
        self.wnid_to_label = {wnid: label for label, wnid in enumerate(self.wnids, 1)}

    def _find_box_file(self, box_file, required):
        if box_file is not None:
            if not Path(box_file).is_file():
                raise DatasetError(f'box list not found: {box_file}. Fix box_file in the config.')
            return Path(box_file)
        for name in DEFAULT_BOX_FILES.get(self.split, ()):
            if (self.data_root / name).is_file():
                return self.data_root / name
        if required:
            raise DatasetError(
                f'no box list for split {self.split} in {self.data_root} (looked for '
                f'{", ".join(DEFAULT_BOX_FILES.get(self.split, ("<split>_boxes.csv",)))}); '
                'write one (image,wnid,x1,y1,x2,y2) or set box_file.')
        return None

    def _label(self, wnid, where):
        try:
            return self.wnid_to_label[wnid]
        except KeyError:
            raise DatasetError(f'{where}: wnid {wnid} is not one of the {len(self.wnids)} '
                               'classes (LOC_synset_mapping.txt or train/ folders).') from None

    def _index_class_folders(self, split_dir):
        for wnid in self.wnids:
            folder = split_dir / wnid
            if not folder.is_dir():
                raise DatasetError(f'class folder {folder} is missing; every class needs one.')
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if entry.name.lower().endswith(IMAGE_SUFFIXES):
                    image_id = _stem(entry.name)
                    if image_id in self._paths:
                        raise DatasetError(f'{entry.path}: image name {image_id} appears twice '
                                           'in the split; names must be unique.')
                    self.ids.append(image_id)
                    self._paths[image_id] = Path(entry.path)
                    self._labels[image_id] = [self._label(wnid, folder)]

    def _image_file(self, split_dir, name, wnid):
        """val/<name> or val/<wnid>/<name>, with any image suffix if ``name`` has none."""
        candidates = [split_dir / name, split_dir / wnid / name]
        if not Path(name).suffix:
            candidates = [Path(f'{c}{s}') for c in candidates
                          for s in ('.JPEG', '.jpg', '.jpeg', '.png')]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise DatasetError(f'image {name} of {self.box_file} not found under {split_dir} '
                           f'(looked for {candidates[0].name} in {split_dir} and {split_dir / wnid}).')

    def _index_box_list(self, split_dir):
        for name, (wnid, boxes) in sorted(read_box_list(self.box_file).items()):
            image_id = _stem(name)
            if image_id in self._paths:
                raise DatasetError(f'{self.box_file}: image {image_id} is listed under two names.')
            label = self._label(wnid, self.box_file)
            self.ids.append(image_id)
            self._paths[image_id] = self._image_file(split_dir, name, wnid)
            self._labels[image_id] = [label]
            self._boxes[image_id] = np.asarray(boxes, np.float64)

    def image_path(self, image_id):
        return self._paths[image_id]

    def boxes(self, image_id):
        """(N, 4) float x1, y1, x2, y2 in original-image pixels."""
        try:
            return self._boxes[image_id].copy()
        except KeyError:
            raise DatasetError(f'image {image_id} has no box (box list: {self.box_file}); '
                               'evaluate a split with a box list.') from None
