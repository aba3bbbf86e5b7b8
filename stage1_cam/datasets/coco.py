"""MS COCO (instances_*.json) as an image source with image-level labels.

COCO category ids run 1..90 with gaps; classifiers need contiguous indices,
so categories sorted by id become labels 1..80 (0 stays background, as in VOC).
"""
import contextlib
import io
import json
import logging
import os
from pathlib import Path

from pycocotools.coco import COCO

from ..registry import SOURCES
from .base import DatasetError, ImageSource

logger = logging.getLogger(__name__)


def _load_coco(ann_file):
    """pycocotools' COCO index, quiet (it prints to stdout) and with errors naming the file."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return COCO(str(ann_file))
    except json.JSONDecodeError as err:
        raise DatasetError(f'{ann_file} is not valid JSON ({err}); re-download the COCO '
                           'annotations.') from err
    except (KeyError, TypeError, AssertionError) as err:
        raise DatasetError(f'{ann_file} is not a COCO instances file ({err!r}); pass '
                           'annotations/instances_<split>.json.') from err


@SOURCES.register_module(name='COCO')
class COCOSource(ImageSource):
    """Images of a COCO split with labels from its instance annotations.

    ``labels(id)`` holds the contiguous label of every annotation of the image,
    crowd annotations included: a crowd of people still means "person present",
    which is all an image-level label says. Images without any annotation have
    no positive class to learn from; they are kept aside in ``unlabeled_ids``
    (and out of ``ids``) unless ``keep_unlabeled``.
    """

    def __init__(self, image_dir, ann_file, keep_unlabeled=False):
        super().__init__()
        self.image_dir = Path(image_dir)
        self.ann_file = Path(ann_file)
        if not self.ann_file.is_file():
            raise DatasetError(f'COCO annotation file not found: {self.ann_file}. Pass '
                               'annotations/instances_<split>.json of the COCO download.')
        if not self.image_dir.is_dir():
            raise DatasetError(f'COCO image folder not found: {self.image_dir}. Pass the folder '
                               'holding the images of this split (e.g. train2014/).')
        self.coco = _load_coco(self.ann_file)
        self._set_classes()
        self._image_paths = {}
        self._image_ids = {}  # our id (file stem) -> COCO image id, for later GT rendering
        self.unlabeled_ids = []
        self._index_images(keep_unlabeled)
        self._check_image_files()

    def _set_classes(self):
        categories = sorted(self.coco.loadCats(self.coco.getCatIds()), key=lambda c: c['id'])
        if not categories:
            raise DatasetError(f'{self.ann_file} defines no categories; pass an instances_*.json '
                               '(captions and keypoints files carry no class list).')
        self.class_names = [c['name'] for c in categories]
        self.cat_id_to_label = {c['id']: label for label, c in enumerate(categories, 1)}
        self.label_to_cat_id = {label: cat_id for cat_id, label in self.cat_id_to_label.items()}

    def _image_labels(self, coco_image_id):
        labels = set()
        for ann in self.coco.imgToAnns.get(coco_image_id, []):
            try:
                labels.add(self.cat_id_to_label[ann['category_id']])
            except KeyError:
                raise DatasetError(
                    f'{self.ann_file}: annotation {ann.get("id")} has category_id '
                    f'{ann["category_id"]}, which is not in "categories"; the file is '
                    'inconsistent: re-download it.') from None
        return sorted(labels)

    def _index_images(self, keep_unlabeled):
        """Ids are file-name stems (COCO_train2014_000000000009): unique, and the
        names the later pipeline steps write their outputs under."""
        for image in self.coco.dataset.get('images', []):
            image_id = os.path.splitext(os.path.basename(image['file_name']))[0]
            if image_id in self._image_paths:
                raise DatasetError(f'{self.ann_file}: two images share the file name stem '
                                   f'{image_id!r}; ids must be unique.')
            self._image_paths[image_id] = self.image_dir / image['file_name']
            self._image_ids[image_id] = image['id']
            labels = self._image_labels(image['id'])
            self._labels[image_id] = labels
            if labels or keep_unlabeled:
                self.ids.append(image_id)
            if not labels:
                self.unlabeled_ids.append(image_id)
        if self.unlabeled_ids and not keep_unlabeled:
            logger.warning('%s: %d image(s) have no annotation and are left out (e.g. %s); '
                           'pass keep_unlabeled=True to keep them.', self.ann_file,
                           len(self.unlabeled_ids), ', '.join(self.unlabeled_ids[:3]))

    def _check_image_files(self):
        """Existence only (no decoding): a wrong image_dir fails here, not mid-epoch."""
        missing = [i for i in self.ids if not self._image_paths[i].is_file()]
        if missing:
            raise DatasetError(
                f'{len(missing)} image(s) listed in {self.ann_file} are missing, e.g. '
                f'{self._image_paths[missing[0]]}. Check image_dir (it must match the split '
                'of the annotation file).')

    def coco_image_id(self, image_id):
        return self._image_ids[image_id]

    def image_path(self, image_id):
        try:
            return self._image_paths[image_id]
        except KeyError:
            raise DatasetError(f'image id {image_id!r} is not in {self.ann_file}.') from None

    def gt_mask(self, image_id):
        """None for now: COCO masks have to be rendered from polygons/RLE first."""
        return None
