"""MS COCO as an image source with image-level labels (and semantic GT).

COCO category ids run 1..90 with gaps; classifiers need contiguous indices,
so categories sorted by id become labels 1..80 (0 stays background, as in VOC).

Two ways to point a source at a split:

* ``data_root`` + ``split`` (+ ``prepared_root``), what the configs use::

      data_root/<split>/                        images (e.g. train2014/)
      data_root/annotations/instances_<split>.json
      prepared_root/                            written by tools/prepare_coco.py:
          categories.json, labels_<split>.json, <split>.txt,
          <split>_unannotated.txt, SegmentationClass/<split>/<id>.png

  With ``prepared_root`` the labels, id lists and GT come from the prepared
  folder, a few MB, instead of the instances JSON (330 MB for train2014, a
  few GB once pycocotools has indexed it); without it, from the JSON.
* ``image_dir`` + ``ann_file``: any instances-format JSON and its images.

Ids are file-name stems (``COCO_train2014_000000000009``); with
``prepared_root`` the image of id X is ``<split>/X.jpg``, COCO's naming. Images without any
annotation have no positive class: they are kept aside in ``unlabeled_ids``
(out of ``ids``) unless ``keep_unlabeled``. Crowd annotations count as
presence of their class.
"""
import contextlib
import io
import json
import logging
import os
from pathlib import Path

from wsss_core.classes import COCO_CATEGORIES, COCO_CLASSES  # noqa: F401  (COCO_CLASSES: API)
from wsss_core.io import read_json, read_label_png

from ..registry import SOURCES
from .base import DatasetError, ImageSource, read_labels_json, read_split_list
from .coco_masks import render_semantic_mask

logger = logging.getLogger(__name__)

# The 80 COCO 2014/2017 instance categories: (category id, name), by id.

# Names of the files tools/prepare_coco.py writes (read back here).
CATEGORIES_FILE = 'categories.json'
GT_FOLDER = 'SegmentationClass'


def labels_file_name(split):
    return f'labels_{split}.json'


def split_list_name(split, unannotated=False):
    return f'{split}_unannotated.txt' if unannotated else f'{split}.txt'


def instances_file(coco_root, split):
    return Path(coco_root) / 'annotations' / f'instances_{split}.json'


def image_id_of(file_name):
    """Our id of a COCO image: its file-name stem (unique, and the name every
    later step writes its outputs under)."""
    return os.path.splitext(os.path.basename(file_name))[0]


def load_coco(ann_file):
    """pycocotools' COCO index, quiet (it prints to stdout) and with errors naming the file."""
    # Imported here: pycocotools is needed for instances JSON files only.
    from pycocotools.coco import COCO
    ann_file = Path(ann_file)
    if not ann_file.is_file():
        raise DatasetError(f'COCO annotation file not found: {ann_file}. Pass '
                           'annotations/instances_<split>.json of the COCO download.')
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return COCO(str(ann_file))
    except json.JSONDecodeError as err:
        raise DatasetError(f'{ann_file} is not valid JSON ({err}); re-download the COCO '
                           'annotations.') from err
    except (KeyError, TypeError, AssertionError) as err:
        raise DatasetError(f'{ann_file} is not a COCO instances file ({err!r}); pass '
                           'annotations/instances_<split>.json.') from err


def contiguous_categories(coco, ann_file):
    """``[{label, category_id, name, supercategory}]``: categories sorted by id,
    labelled 1..C (0 is background)."""
    categories = sorted(coco.loadCats(coco.getCatIds()), key=lambda c: c['id'])
    if not categories:
        raise DatasetError(f'{ann_file} defines no categories; pass an instances_*.json '
                           '(captions and keypoints files carry no class list).')
    return [{'label': label, 'category_id': int(c['id']), 'name': c['name'],
             'supercategory': c.get('supercategory', '')}
            for label, c in enumerate(categories, 1)]


def image_labels(coco, coco_image_id, cat_id_to_label, ann_file):
    """Sorted contiguous labels of every annotation of an image (crowds included)."""
    labels = set()
    for ann in coco.imgToAnns.get(coco_image_id, []):
        try:
            labels.add(cat_id_to_label[ann['category_id']])
        except KeyError:
            raise DatasetError(
                f'{ann_file}: annotation {ann.get("id")} has category_id '
                f'{ann["category_id"]}, which is not in "categories"; the file is '
                'inconsistent: re-download it.') from None
    return sorted(labels)


def image_records(coco, ann_file):
    """``[(our id, COCO image record)]`` in file order; duplicate stems refused."""
    records, seen = [], set()
    for image in coco.dataset.get('images', []):
        image_id = image_id_of(image['file_name'])
        if image_id in seen:
            raise DatasetError(f'{ann_file}: two images share the file name stem '
                               f'{image_id!r}; ids must be unique.')
        seen.add(image_id)
        records.append((image_id, image))
    return records


@SOURCES.register_module(name='COCO')
class COCOSource(ImageSource):
    """Images of a COCO split with labels from its annotations (see the module
    docstring for the two ways to name the split).

    ``gt_mask(id)``: the prepared ``SegmentationClass/<split>/<id>.png`` with
    ``prepared_root``; otherwise rendered from the instances JSON by the rules
    of ``coco_masks.render_semantic_mask`` (crowd regions 255).
    """

    def __init__(self, image_dir=None, ann_file=None, keep_unlabeled=False, data_root=None,
                 split=None, prepared_root=None):
        super().__init__()
        self.split = split
        self.data_root = Path(data_root) if data_root is not None else None
        self.prepared_root = Path(prepared_root) if prepared_root is not None else None
        self.image_dir, self.ann_file = self._resolve_paths(image_dir, ann_file)
        if not self.image_dir.is_dir():
            raise DatasetError(f'COCO image folder not found: {self.image_dir}. Pass the folder '
                               'holding the images of this split (e.g. train2014/).')
        if self.data_root is None:
            self.data_root = self.image_dir.parent
        self.coco = None
        self.gt_dir = None
        self._image_paths = {}
        self._image_ids = {}  # our id -> COCO image id (annotation mode only)
        self.unlabeled_ids = []
        if self.prepared_root is not None:
            self._load_prepared(keep_unlabeled)
        else:
            self._load_annotations(keep_unlabeled)
        self._check_image_files()

    def _resolve_paths(self, image_dir, ann_file):
        if self.split is not None:
            if image_dir is not None or ann_file is not None:
                raise DatasetError(
                    f'COCO source: pass either split ({self.split!r}, with data_root) or '
                    f'image_dir/ann_file ({image_dir}, {ann_file}), not both.')
            if self.data_root is None:
                raise DatasetError(f'COCO source: split={self.split!r} needs data_root (the '
                                   'folder holding train2014/, val2014/ and annotations/).')
            return self.data_root / self.split, instances_file(self.data_root, self.split)
        if image_dir is None:
            raise DatasetError('COCO source: pass data_root + split, or image_dir + ann_file.')
        if ann_file is None and self.prepared_root is None:
            raise DatasetError(f'COCO source: no ann_file for {image_dir}; pass '
                               'annotations/instances_<split>.json or prepared_root.')
        return self._under_root(image_dir), \
            self._under_root(ann_file) if ann_file is not None else None

    def _under_root(self, path):
        """Relative paths are relative to data_root when one is given."""
        path = Path(path)
        return self.data_root / path if self.data_root and not path.is_absolute() else path

    # -- labels from the instances JSON ------------------------------------

    def _load_annotations(self, keep_unlabeled):
        self.coco = load_coco(self.ann_file)
        self._set_categories(contiguous_categories(self.coco, self.ann_file))
        for image_id, image in image_records(self.coco, self.ann_file):
            self._image_paths[image_id] = self.image_dir / image['file_name']
            self._image_ids[image_id] = image['id']
            labels = image_labels(self.coco, image['id'], self.cat_id_to_label, self.ann_file)
            self._labels[image_id] = labels
            if labels or keep_unlabeled:
                self.ids.append(image_id)
            if not labels:
                self.unlabeled_ids.append(image_id)
        self._warn_unlabeled(self.ann_file, keep_unlabeled)

    def _set_categories(self, categories):
        self.categories = categories
        self.class_names = [c['name'] for c in categories]
        self.cat_id_to_label = {c['category_id']: c['label'] for c in categories}
        self.label_to_cat_id = {c['label']: c['category_id'] for c in categories}

    def _warn_unlabeled(self, where, keep_unlabeled):
        if self.unlabeled_ids and not keep_unlabeled:
            logger.warning('%s: %d image(s) have no annotation and are left out (e.g. %s); '
                           'pass keep_unlabeled=True to keep them.', where,
                           len(self.unlabeled_ids), ', '.join(self.unlabeled_ids[:3]))

    # -- labels from tools/prepare_coco.py's folder ---------------------------

    def _prepared_file(self, name):
        path = self.prepared_root / name
        if not path.is_file():
            split = self.split or self.image_dir.name
            raise DatasetError(
                f'{path} not found: {self.prepared_root} is not a prepared COCO folder for '
                f'split {split!r}. Write it with: python3 tools/prepare_coco.py --coco-root '
                f'{self.data_root} --out {self.prepared_root} --splits {split}')
        return path

    def _load_prepared(self, keep_unlabeled):
        split = self.split or self.image_dir.name
        categories = read_json(self._prepared_file(CATEGORIES_FILE))['categories']
        self._set_categories(categories)
        _, labels = read_labels_json(self._prepared_file(labels_file_name(split)),
                                     expect_classes=self.class_names)
        annotated = read_split_list(self._prepared_file(split_list_name(split)))
        unannotated_file = self._prepared_file(split_list_name(split, unannotated=True))
        unannotated = [line.strip() for line in unannotated_file.read_text().splitlines()
                       if line.strip()]
        missing = [i for i in annotated if i not in labels]
        if missing:
            raise DatasetError(f'{self.prepared_root / labels_file_name(split)} lacks labels of '
                               f'{len(missing)} listed image(s), e.g. {missing[0]!r}; re-run '
                               'tools/prepare_coco.py.')
        self._labels = {**{i: labels[i] for i in annotated}, **{i: [] for i in unannotated}}
        self.ids = list(annotated) + (list(unannotated) if keep_unlabeled else [])
        self.unlabeled_ids = list(unannotated)
        self._image_paths = {i: self.image_dir / f'{i}.jpg' for i in self._labels}
        self.gt_dir = self.prepared_root / GT_FOLDER / split
        self._warn_unlabeled(unannotated_file, keep_unlabeled)

    # -- files --------------------------------------------------------------

    def _check_image_files(self):
        """Existence only (no decoding): a wrong image_dir fails here, not mid-epoch."""
        missing = [i for i in self.ids if not self._image_paths[i].is_file()]
        if missing:
            listed_in = self.ann_file if self.prepared_root is None else self.prepared_root
            raise DatasetError(
                f'{len(missing)} image(s) listed in {listed_in} are missing, e.g. '
                f'{self._image_paths[missing[0]]}. Check image_dir (it must match the split '
                'of the annotation file).')

    def coco_image_id(self, image_id):
        return self._image_ids[image_id]

    def image_path(self, image_id):
        try:
            return self._image_paths[image_id]
        except KeyError:
            raise DatasetError(f'image id {image_id!r} is not in '
                               f'{self.ann_file or self.prepared_root}.') from None

    def gt_path(self, image_id):
        return None if self.gt_dir is None else self.gt_dir / f'{image_id}.png'

    def gt_mask(self, image_id):
        """HxW uint8 (0 background, 1..C, 255 ignore)."""
        if self.gt_dir is not None:
            path = self.gt_path(image_id)
            if not path.is_file():
                raise DatasetError(
                    f'no GT mask {path}. Render the {self.gt_dir.name} masks with: python3 '
                    f'tools/prepare_coco.py --coco-root {self.data_root} --out '
                    f'{self.prepared_root} --splits {self.gt_dir.name} --gt-splits '
                    f'{self.gt_dir.name}')
            try:
                return read_label_png(path)
            except ValueError as err:
                raise DatasetError(str(err)) from err
        image = self.coco.imgs[self._image_ids[image_id]]
        return render_semantic_mask(self.coco.imgToAnns.get(image['id'], []), image['height'],
                                    image['width'], self.cat_id_to_label)
