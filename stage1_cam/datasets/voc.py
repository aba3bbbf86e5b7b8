"""PASCAL VOC 2012 (and any folder in its layout) as an image source.

Expected layout under ``data_root``::

    JPEGImages/<id>.jpg            (.jpeg or .png also accepted)
    Annotations/<id>.xml           (image-level labels when no labels file is given)
    ImageSets/Segmentation/<split>.txt
    SegmentationClass/<id>.png     (official GT, palette PNG)
    SegmentationClassAug/<id>.png  (SBD-augmented GT)

Image-level labels come from, in order of preference: a labels JSON written by
``tools/prepare_voc.py``, IRN's ``cls_labels.npy``, or the XML annotations.
"""
import logging
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from wsss_core.classes import DEMO_CLASSES, VOC_CLASSES
from wsss_core.io import read_label_png

from ..registry import SOURCES
from .base import (DatasetError, ImageSource, read_labels_json, read_split_list,
                   write_labels_json)
from .demo import is_demo_folder

logger = logging.getLogger(__name__)


# Some VOC-layout folders (re-encoded samples, exports of other tools) keep PNGs
# in JPEGImages, so every common extension is tried, the VOC one first.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png')
DEFAULT_GT_DIRS = ('SegmentationClass', 'SegmentationClassAug')


def labels_from_xml(xml_path, class_names=VOC_CLASSES):
    """Sorted 1-based class indices of every ``<object><name>`` in a VOC XML.

    Like IRN's ``make_cls_labels``, every object counts (difficult and truncated
    ones too): the image-level question is only "is the class present". Only the
    top-level object names are read, so person-layout part names (``head``,
    ``hand``) nested in ``<part>`` are not mistaken for classes. An unknown
    class name is an error rather than being skipped, because silently dropping
    it would train the classifier on a wrong negative.
    """
    xml_path = Path(xml_path)
    try:
        root = ET.parse(xml_path).getroot()
    except FileNotFoundError:
        raise DatasetError(f'annotation XML not found: {xml_path}. Remove its id from the id '
                           'list, or take labels from a labels JSON or cls_labels.npy.') from None
    except ET.ParseError as err:
        raise DatasetError(f'cannot parse annotation XML {xml_path}: {err}. '
                           'Re-extract the VOC archive.') from err
    index_of = {name: i + 1 for i, name in enumerate(class_names)}
    labels = set()
    for obj in root.findall('object'):
        name = (obj.findtext('name') or '').strip()
        if name not in index_of:
            raise DatasetError(
                f'{xml_path}: object class {name!r} is not one of the {len(index_of)} classes '
                f'({", ".join(list(class_names)[:4])}, ...). Fix the XML, or pass the matching '
                'class_names.')
        labels.add(index_of[name])
    return sorted(labels)


def _irn_key_to_id(key):
    """IRN stores '2007_000032' as the int 2007000032: put the underscore back."""
    digits = str(int(key))
    if len(digits) != 10:
        raise ValueError(f'key {key!r} is not a 10-digit VOC id')
    return f'{digits[:4]}_{digits[4:]}'


def load_irn_cls_labels(npy_path, num_classes=len(VOC_CLASSES)):
    """Read IRN's ``cls_labels.npy`` as {'2007_000032': [1, 15], ...}.

    The file is a pickled dict {int id: C-d multi-hot float vector}; it lets
    this project reuse the exact labels IRN, AMN, L2G and friends trained on.
    """
    npy_path = Path(npy_path)
    if not npy_path.is_file():
        raise DatasetError(f'cls_labels.npy not found: {npy_path}. Take it from the IRN '
                           'repository (voc12/cls_labels.npy) or drop the option.')
    try:
        table = np.load(npy_path, allow_pickle=True).item()
    except (OSError, ValueError, EOFError) as err:
        raise DatasetError(f'cannot read {npy_path} as IRN cls_labels.npy (a pickled dict '
                           f'of multi-hot vectors): {err}.') from err
    if not isinstance(table, dict):
        raise DatasetError(f'{npy_path} holds a {type(table).__name__}, not IRN\'s dict of '
                           'multi-hot vectors.')
    labels = {}
    for key, vector in table.items():
        vector = np.asarray(vector).reshape(-1)
        try:
            image_id = _irn_key_to_id(key)
        except ValueError as err:
            raise DatasetError(f'{npy_path}: {err}; expected IRN keys like 2007000032.') from None
        if vector.size != num_classes:
            raise DatasetError(f'{npy_path}: image {image_id} has a {vector.size}-d label vector, '
                               f'but {num_classes} classes are configured.')
        labels[image_id] = [int(i) + 1 for i in np.flatnonzero(vector > 0.5)]
    return labels


def _image_size(path):
    """(height, width) from the header only: no pixel decoding."""
    try:
        with Image.open(path) as image:
            return image.height, image.width
    except OSError as err:  # UnidentifiedImageError is an OSError
        raise DatasetError(f'cannot read image {path}: {err}. Re-download it, or remove '
                           'its id from the split list.') from err


@SOURCES.register_module(name='VOC')
class VOCSource(ImageSource):
    """Images, image-level labels and (optional) GT masks of a VOC-layout folder.

    ``class_names`` defaults to the 20 VOC classes; a VOC-layout folder with other
    classes (the demo data) passes its own list, and a labels JSON must then
    carry exactly that list.
    """

    def __init__(self, data_root, split='train', split_file=None, labels_file=None,
                 cls_labels_npy=None, class_names=VOC_CLASSES, gt_dirs=DEFAULT_GT_DIRS,
                 require_labels=True):
        super().__init__()
        self.data_root = Path(data_root)
        if not self.data_root.is_dir():
            raise DatasetError(f'VOC data root not found: {self.data_root}. Point data_root at '
                               'the folder holding JPEGImages/ (e.g. VOCdevkit/VOC2012).')
        if labels_file is not None and cls_labels_npy is not None:
            raise DatasetError(f'both labels_file ({labels_file}) and cls_labels_npy '
                               f'({cls_labels_npy}) were given; pass only one labels source.')
        self.class_names = list(class_names)
        self.gt_dirs = tuple(gt_dirs)
        self.split_file = Path(split_file) if split_file is not None else \
            self.data_root / 'ImageSets' / 'Segmentation' / f'{split}.txt'
        self.ids = read_split_list(self.split_file)
        self._image_paths = self._find_all_images()
        self._labels, self.labels_source = self._load_labels(labels_file, cls_labels_npy)
        if require_labels:
            self._check_all_labelled()

    # -- images -----------------------------------------------------------

    def _find_image(self, image_id):
        for ext in IMAGE_EXTENSIONS:
            path = self.data_root / 'JPEGImages' / f'{image_id}{ext}'
            if path.is_file():
                return path
        return None

    def _find_all_images(self):
        """Map every listed id to its file; fail early, naming the list to fix."""
        paths, missing = {}, []
        for image_id in self.ids:
            path = self._find_image(image_id)
            if path is None:
                missing.append(image_id)
            else:
                paths[image_id] = path
        if missing:
            expected = self.data_root / 'JPEGImages' / f'{missing[0]}.jpg'
            raise DatasetError(
                f'split list {self.split_file} names {len(missing)} image(s) with no file, '
                f'e.g. {missing[0]!r}: expected {expected} (or .jpeg/.png). Fix the list '
                '(remove those ids) or point data_root at the right folder.')
        return paths

    def image_path(self, image_id):
        path = self._image_paths.get(image_id) or self._find_image(image_id)
        if path is None:
            raise DatasetError(f'no image for id {image_id!r} in {self.data_root / "JPEGImages"}.')
        return path

    # -- labels -----------------------------------------------------------

    def _load_labels(self, labels_file, cls_labels_npy):
        """Return (labels dict, description of where labels come from)."""
        if labels_file is not None:
            _, labels = read_labels_json(labels_file, expect_classes=self.class_names)
            return labels, str(labels_file)
        if cls_labels_npy is not None:
            return load_irn_cls_labels(cls_labels_npy, len(self.class_names)), str(cls_labels_npy)
        return self._labels_from_annotations(), str(self.data_root / 'Annotations' / '<id>.xml')

    def _labels_from_annotations(self):
        """Parse the XML of each listed id that has one (ids without XML stay unlabelled)."""
        labels = {}
        for image_id in self.ids:
            xml_path = self.data_root / 'Annotations' / f'{image_id}.xml'
            if xml_path.is_file():
                labels[image_id] = labels_from_xml(xml_path, self.class_names)
        return labels

    def _check_all_labelled(self):
        missing = [i for i in self.ids if i not in self._labels]
        if missing:
            raise DatasetError(
                f'{len(missing)} image(s) of {self.split_file} have no image-level label in '
                f'{self.labels_source}, e.g. {missing[0]!r}. Regenerate the labels with '
                'tools/prepare_voc.py, or remove those ids from the split list.')

    # -- ground truth -----------------------------------------------------

    def gt_path(self, image_id):
        """The first of ``gt_dirs`` holding <id>.png, or None."""
        for folder in self.gt_dirs:
            path = self.data_root / folder / f'{image_id}.png'
            if path.is_file():
                return path
        return None

    def gt_mask(self, image_id):
        """HxW uint8 class indices (0 bg, 1..C, 255 ignore), or None without a GT file."""
        path = self.gt_path(image_id)
        if path is None:
            return None
        try:
            mask = read_label_png(path)
        except ValueError as err:
            raise DatasetError(str(err)) from err
        image_path = self.image_path(image_id)
        height, width = _image_size(image_path)
        if mask.shape != (height, width):
            raise DatasetError(
                f'GT mask {path} is {mask.shape[1]}x{mask.shape[0]} but image {image_path} is '
                f'{width}x{height} (WxH); they must match pixel for pixel: regenerate the mask '
                'or fix the image.')
        return mask


def _ids_to_label(voc_root, id_lists, labels_table):
    """The ids to write: the union of the lists in order, else every labelled id."""
    if not id_lists:
        return sorted(labels_table) if labels_table is not None else \
            sorted(p.stem for p in (voc_root / 'Annotations').glob('*.xml'))
    ids, seen = [], set()
    for list_path in id_lists:
        for image_id in read_split_list(list_path):
            if image_id not in seen:
                seen.add(image_id)
                ids.append(image_id)
    return ids


def _check_outside(out_path, voc_root):
    """The VOC root is read-only input: writing there would mix our files into
    the dataset that other projects share."""
    out_resolved = Path(out_path).resolve()
    if out_resolved.is_relative_to(voc_root.resolve()):
        raise DatasetError(f'refusing to write {out_path} inside the VOC root {voc_root}; '
                           'choose an output path outside it (e.g. data/voc_labels.json).')


def build_voc_labels(voc_root, out_path, cls_labels_npy=None, id_lists=None,
                     class_names=VOC_CLASSES, progress=True):
    """Write the labels JSON for a VOC-layout folder; return the labels dict.

    Labels come from IRN's ``cls_labels.npy`` when given, else from
    ``Annotations/<id>.xml``. The ids are those of ``id_lists`` (split list
    files, in order, duplicates across lists merged), else every id of the
    labels source. The JSON is written atomically, never inside ``voc_root``.
    """

    voc_root = Path(voc_root)
    if not voc_root.is_dir():
        raise DatasetError(f'VOC root not found: {voc_root}. Pass the folder holding '
                           'JPEGImages/ and Annotations/ (e.g. VOCdevkit/VOC2012).')
    _check_outside(out_path, voc_root)
    table = load_irn_cls_labels(cls_labels_npy, len(class_names)) \
        if cls_labels_npy is not None else None
    source = str(cls_labels_npy) if table is not None else str(voc_root / 'Annotations')
    ids = _ids_to_label(voc_root, id_lists, table)
    if not ids:
        raise DatasetError(f'no image ids found in {source}; check --voc-root.')
    labels = {}
    for image_id in tqdm(ids, desc='image labels', unit='img', disable=not progress):
        if table is not None:
            if image_id not in table:
                raise DatasetError(f'image {image_id!r} has no entry in {source}; remove it from '
                                   'the id list or label it from the XMLs instead.')
            labels[image_id] = table[image_id]
        else:
            labels[image_id] = labels_from_xml(voc_root / 'Annotations' / f'{image_id}.xml',
                                               class_names)
    write_labels_json(out_path, class_names, labels)
    logger.info('wrote labels of %d images to %s', len(labels), out_path)
    return labels


@SOURCES.register_module(name='Demo')
class DemoSource(VOCSource):
    """The generated demo dataset (``tools/prepare_demo_data.py``): a VOC-layout
    folder with the demo classes and its ``labels.json``."""

    def __init__(self, data_root, split='train', split_file=None, labels_file=None, **kwargs):
        if not is_demo_folder(data_root):
            raise DatasetError(f'{data_root} is not a complete demo dataset (no finished '
                               'meta.json). Create it with: python3 tools/prepare_demo_data.py '
                               f'--out {data_root}')
        labels_file = labels_file or Path(data_root) / 'labels.json'
        super().__init__(data_root, split=split, split_file=split_file, labels_file=labels_file,
                         class_names=DEMO_CLASSES, **kwargs)
