"""``FolderLabelDirDataset``: a user's own image folder (``dataset.kind='folder'``).

The images sit anywhere below ``img_dir`` (jpg/png, nested folders), named by
the ids of ``wsss_core.image_folder`` (``beach/dog 1.jpg`` is ``beach__dog 1``);
the labels are a pseudo-label folder (``labels/<id>.png``, flat) or a mask
folder (mirroring the images, or flat). The classes come from the config's
``metainfo`` (background first, in the order of the labels file), not from a
fixed list: the labels already hold those indices, so no label map applies.
"""
from mmengine.logging import print_log
from mmseg.registry import DATASETS

from wsss_core.dataset_files import DatasetError
from wsss_core.image_folder import MASK_EXTENSIONS, index_folder
from wsss_core.label_folder import LabelFolderError, check_manifest, read_split

from .label_dir import LabelDirDataset


def _preview(ids, count=5):
    ids = list(ids)
    return ', '.join(ids[:count]) + (f', ... ({len(ids)} in all)' if len(ids) > count else '')


@DATASETS.register_module()
class FolderLabelDirDataset(LabelDirDataset):
    """Images of a folder + a label folder; classes given by ``metainfo``.

    Args: as ``LabelDirDataset`` (``img_dir``, ``ann_dir``, ``split``,
    ``manifest``), with ``metainfo=dict(classes=('background', ...), palette=...)``
    required; ``img_suffix`` is unused (any of .jpg/.jpeg/.png).
    """
    METAINFO = dict()

    def __init__(self, img_dir, metainfo=None, **kwargs):
        if not metainfo or not metainfo.get('classes'):
            raise LabelFolderError(
                f'{type(self).__name__} over {img_dir} needs metainfo=dict(classes=(...)) '
                "with 'background' first and the classes in label order; "
                'wsss_pipeline/own_data.py writes it.')
        super().__init__(img_dir, metainfo=metainfo, **kwargs)

    def load_data_list(self):
        img_dir = self.data_prefix['img_path']
        ann_dir = self.data_prefix.get('seg_map_path')
        try:
            images = index_folder(img_dir, what='image')
            labels = index_folder(ann_dir, MASK_EXTENSIONS, what='label') \
                if ann_dir is not None else None
        except DatasetError as err:
            raise LabelFolderError(str(err)) from None
        manifest = None
        if ann_dir is not None:
            manifest = self._manifest_path(ann_dir)
            if manifest is not None:
                self.manifest_info = check_manifest(manifest, ann_dir, self._metainfo['classes'])
        if self.ann_file:
            ids = read_split(self.ann_file)
        elif labels is not None:
            ids = sorted(labels)
        else:
            ids = sorted(images)
        missing = [i for i in ids if i not in images]
        if missing:
            raise LabelFolderError(f'image folder {img_dir} lacks {len(missing)} of the {len(ids)} '
                                   f'images of the split: {_preview(missing)}; fix the split '
                                   'list or img_dir.')
        if labels is not None:
            missing = [i for i in ids if i not in labels]
            if missing:
                raise LabelFolderError(
                    f'label folder {ann_dir} lacks {len(missing)} of the {len(ids)} images of '
                    f'the split: {_preview(missing)}; make labels for these images (or '
                    'score only the images that have masks).')
        print_log(f'{type(self).__name__}: {len(ids)} images from {img_dir}'
                  + (f', labels from {ann_dir}' if ann_dir is not None else ''),
                  logger='current')
        data_list = []
        for image_id in ids:
            info = dict(img_path=str(images[image_id]), label_map=None,
                        reduce_zero_label=False, seg_fields=[])
            if labels is not None:
                info['seg_map_path'] = str(labels[image_id])
            data_list.append(info)
        return data_list


__all__ = ['FolderLabelDirDataset']
