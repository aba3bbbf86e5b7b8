"""Images + a label folder, the one dataset shape stage 2 needs.

Training reads stage 1's pseudo-labels, evaluation the ground truth; both
are folders of palette PNGs ``<id>.png`` holding class indices (0 background,
1..C, 255 ignored), so one dataset type serves both, and mmseg's
``LoadAnnotations`` reads them as they are (``reduce_zero_label=False``).

Which images: the ``split`` list when given (VOC's ``ImageSets/.../*.txt``);
otherwise every label file in ``ann_dir`` (COCO, whose pseudo-labels cover
the annotated training images and whose GT folder covers the evaluated ones);
with neither labels nor list, every image of ``img_dir`` (test-server
predictions).

Before anything trains, the folder is checked (``label_folder.py``): a
pseudo-label folder (``ann_dir/../manifest.json``) must be complete and made
for this dataset's classes, and every image of the split needs its label.
"""
from pathlib import Path

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from wsss_core.label_folder import (LabelFolderError, check_images_exist, check_labels_exist,
                                    check_manifest, find_manifest, list_labels, read_split)

from .classes import COCO_OBJECT_METAINFO, DEMO_METAINFO, VOC_METAINFO


@DATASETS.register_module()
class LabelDirDataset(BaseSegDataset):
    """PASCAL VOC classes (background + 20) over ``img_dir`` + ``ann_dir``.

    Args:
        img_dir: image folder (``<id><img_suffix>``).
        ann_dir: label folder (``<id><seg_map_suffix>``): a pseudo-label
            folder's ``labels/`` or a GT folder; None for images only.
        split: a list of ids (a text file), or None (see the module docstring).
        manifest: ``'auto'``: check ``ann_dir/../manifest.json`` when present
            (pseudo-labels), else treat ``ann_dir`` as ground truth; a path:
            that manifest, required; False: no manifest check.
        data_root: as in mmseg, prefixed to relative ``img_dir``, ``ann_dir``
            and ``split``.
        Other keyword arguments go to mmseg's ``BaseSegDataset``.
    """
    METAINFO = VOC_METAINFO

    def __init__(self, img_dir, ann_dir=None, split=None, manifest='auto', img_suffix='.jpg',
                 seg_map_suffix='.png', reduce_zero_label=False, ignore_index=255, **kwargs):
        if reduce_zero_label:
            raise ValueError(f'{type(self).__name__}: labels hold 0 = background as a class; '
                             'reduce_zero_label must stay False.')
        if manifest not in ('auto', False, None) and not isinstance(manifest, (str, Path)):
            raise ValueError(f"manifest must be 'auto', a path or False, got {manifest!r}")
        self.manifest = manifest
        self.manifest_info = None
        data_prefix = dict(img_path=str(img_dir))
        if ann_dir is not None:
            data_prefix['seg_map_path'] = str(ann_dir)
        super().__init__(ann_file=str(split) if split else '', img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix, data_prefix=data_prefix,
                         reduce_zero_label=False, ignore_index=ignore_index, **kwargs)

    # ------------------------------------------------------------------
    def _manifest_path(self, ann_dir):
        if self.manifest == 'auto':
            return find_manifest(ann_dir)
        if self.manifest:
            path = Path(self.manifest)
            if not path.is_file():
                raise LabelFolderError(f'manifest {path} not found (dataset manifest='
                                       f'{self.manifest!r}); fix the path or use manifest="auto".')
            return path
        return None

    def _image_ids(self, img_dir, ann_dir):
        if self.ann_file:
            return read_split(self.ann_file)
        if ann_dir is not None:
            ids = list_labels(ann_dir, self.seg_map_suffix)
            if ids is None:
                check_labels_exist(ann_dir, [], self.seg_map_suffix, pseudo=False)
            if not ids:
                raise LabelFolderError(f'label folder {ann_dir} holds no *{self.seg_map_suffix} '
                                       'files; fix ann_dir, or make the labels first.')
            return sorted(ids)
        if not Path(img_dir).is_dir():
            check_images_exist(img_dir, [], self.img_suffix)
        return sorted(p.name[:-len(self.img_suffix)] for p in Path(img_dir).iterdir()
                      if p.name.endswith(self.img_suffix))

    def load_data_list(self):
        img_dir = self.data_prefix['img_path']
        ann_dir = self.data_prefix.get('seg_map_path')
        manifest = None
        if ann_dir is not None:
            manifest = self._manifest_path(ann_dir)
            if manifest is not None:
                self.manifest_info = check_manifest(manifest, ann_dir,
                                                    self._metainfo['classes'])
        ids = self._image_ids(img_dir, ann_dir)
        if ann_dir is not None:
            check_labels_exist(ann_dir, ids, self.seg_map_suffix, pseudo=manifest is not None)
        check_images_exist(img_dir, ids, self.img_suffix)
        kind = 'pseudo-labels' if manifest is not None else \
            'ground truth' if ann_dir is not None else 'no labels'
        print_log(f'{type(self).__name__}: {len(ids)} images from {img_dir}, {kind}'
                  + (f' from {ann_dir}' if ann_dir is not None else '')
                  + (f' (manifest {manifest}, method {self.manifest_info.get("method", "?")})'
                     if manifest is not None else ''), logger='current')
        data_list = []
        for image_id in ids:
            info = dict(img_path=str(Path(img_dir) / f'{image_id}{self.img_suffix}'),
                        label_map=self.label_map, reduce_zero_label=False, seg_fields=[])
            if ann_dir is not None:
                info['seg_map_path'] = str(Path(ann_dir) / f'{image_id}{self.seg_map_suffix}')
            data_list.append(info)
        return data_list


@DATASETS.register_module()
class COCOObjectLabelDirDataset(LabelDirDataset):
    """COCO-object: background + the 80 COCO categories in id order (81 classes),
    the contiguous numbering of ``wsss_core.classes.COCO_CATEGORIES``."""
    METAINFO = COCO_OBJECT_METAINFO


@DATASETS.register_module()
class DemoLabelDirDataset(LabelDirDataset):
    """The generated demo dataset: background + 6 classes."""
    METAINFO = DEMO_METAINFO
