"""The one interface every image source offers, and the labels-JSON contract.

An image source is a folder of images with image-level labels:

* ``ids``: the image ids of the split, in list order;
* ``image(id)``: HxWx3 uint8 RGB array;
* ``labels(id)``: sorted class indices 1..C present in the image;
* ``gt_mask(id)``: HxW uint8 mask (0 background, 1..C, 255 ignore) or None.

Labels JSON (written by ``tools/prepare_*.py``)::

    {"class_names": ["aeroplane", ...], "labels": {"2007_000032": [1, 15], ...}}
"""
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

# DatasetError and read_split_list: part of the source interface, imported from here too.
from wsss_core.dataset_files import DatasetError, read_split_list  # noqa: F401
from wsss_core.dataset_files import DATASET_SUBFOLDERS, refuse_write_inside
from wsss_core.io import read_json, write_json


def read_image_rgb(path):
    """Read any PIL-readable image as HxWx3 uint8 RGB.

    Grayscale, palette, CMYK and RGBA images are converted (alpha dropped, as
    image-level classifiers see RGB only). A truncated or corrupt file raises
    DatasetError naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f'image file not found: {path}. Check the data root and the split list.')
    try:
        with Image.open(path) as image:
            image.load()  # decode now so truncated files fail here, with the name
            if image.mode != 'RGB':
                image = image.convert('RGBA').convert('RGB') if 'A' in image.getbands() \
                    else image.convert('RGB')
            array = np.asarray(image, dtype=np.uint8).copy()
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        raise DatasetError(
            f'cannot decode image {path}: {err}. The file is corrupt or truncated: '
            're-download it, or remove its id from the split list.') from err
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise DatasetError(f'image {path} has no pixels; remove its id from the split list.')
    return array


def write_labels_json(path, class_names, labels):
    write_json(path, {'class_names': list(class_names),
                      'labels': {str(k): sorted(int(c) for c in v) for k, v in labels.items()}})


def read_labels_json(path, expect_classes=None):
    """Read a labels JSON; check indices are within 1..C.

    ``expect_classes``: the class names the caller's config uses; a mismatch is
    an error (a model built for 20 classes cannot learn 80).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f'labels file not found: {path}. Create it with tools/prepare_voc.py, '
                           'tools/prepare_coco.py or tools/prepare_demo_data.py.')
    data = read_json(path)
    if not isinstance(data, dict) or 'class_names' not in data or 'labels' not in data:
        raise DatasetError(f'{path} is not a labels JSON: expected keys "class_names" and "labels".')
    class_names = list(data['class_names'])
    num_classes = len(class_names)
    if expect_classes is not None and list(expect_classes) != class_names:
        raise DatasetError(
            f'{path} has {num_classes} classes {class_names[:3]}..., but the config expects '
            f'{len(expect_classes)} classes {list(expect_classes)[:3]}...; use the labels file of '
            'this dataset or fix num_classes/class_names in the config.')
    labels = {}
    for image_id, classes in data['labels'].items():
        bad = [c for c in classes if not isinstance(c, int) or not 1 <= c <= num_classes]
        if bad:
            raise DatasetError(f'{path}: image {image_id!r} has class indices {bad} outside '
                               f'1..{num_classes}; class indices are 1-based (0 is background).')
        labels[image_id] = sorted(set(classes))
    return class_names, labels


def dataset_folders(source):
    """(root, folders): the dataset root (no output *is* it, nor directly inside
    it) and the image/annotation/GT folders (nothing is written anywhere in them)."""
    folders = []
    root = getattr(source, 'data_root', None)
    if root is not None:
        root = Path(root).resolve()
        names = DATASET_SUBFOLDERS + tuple(getattr(source, 'gt_dirs', ()))
        folders += [root / name for name in names]
    for attr in ('image_dir', 'gt_dir'):  # COCO-style sources
        if getattr(source, attr, None) is not None:
            folders.append(Path(getattr(source, attr)).resolve())
    return root, folders


def refuse_dataset_path(path, source, what, is_file=False):
    """Raise DatasetError when writing ``path`` would write into the dataset.

    ``what`` names the option that chose the path (e.g. '--out-dir'); a file
    may not sit directly in the dataset root, a folder may not be the root.
    """
    root, folders = dataset_folders(source)
    refuse_write_inside(path, [root], folders, what, is_file=is_file)


class ImageSource:
    """Base class of VOC, COCO and demo sources; subclasses fill the fields
    and override ``image_path`` / ``gt_mask``."""

    class_names: list = []

    def __init__(self):
        self.ids = []
        self._labels = {}

    @property
    def num_classes(self):
        return len(self.class_names)

    def __len__(self):
        return len(self.ids)

    def image_path(self, image_id):
        raise NotImplementedError

    def image(self, image_id):
        return read_image_rgb(self.image_path(image_id))

    def labels(self, image_id):
        try:
            return self._labels[image_id]
        except KeyError:
            raise DatasetError(
                f'image {image_id!r} ({self.image_path(image_id)}) has no image-level label. '
                'Add it to the labels file, or remove it from the split list.') from None

    def gt_mask(self, image_id):
        return None

    def check_images(self, progress=True):
        """Open every listed image's header (no decoding: about 0.1 ms each) and
        raise one DatasetError listing those that are missing or not images.

        Training calls this before the first step: a broken file must stop an
        experiment up front, not be skipped silently (that would change the
        training set) nor crash it hours in. A file corrupt past its header
        still fails when it is loaded, with its name.
        """
        bad = []
        for image_id in tqdm(self.ids, desc='checking images', unit='img', leave=False,
                             disable=not progress or len(self.ids) < 1000):
            path = self.image_path(image_id)
            try:
                with Image.open(path) as image:
                    image.size  # noqa: B018  (parsed from the header)
            except (OSError, UnidentifiedImageError, SyntaxError) as err:
                bad.append(f'{path} ({type(err).__name__}: {err})')
        if bad:
            raise DatasetError(
                f'{len(bad)} of {len(self.ids)} images cannot be read: {"; ".join(bad[:5])}'
                f'{"; ..." if len(bad) > 5 else ""}. Re-download them, or remove their ids from '
                'the split list.')

    def check_labels(self):
        """Raise on the first listed image without a label, or with none present."""
        for image_id in self.ids:
            if not self.labels(image_id):
                raise DatasetError(
                    f'image {image_id!r} ({self.image_path(image_id)}) has an empty label list; '
                    'images with no object cannot train a classifier: drop it from the split.')
