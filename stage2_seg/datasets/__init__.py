"""Stage-2 datasets (registered in mmseg's DATASETS)."""
from wsss_core.label_folder import LabelFolderError  # noqa: F401  (raised by these datasets)

from .classes import COCO_CLASSES, COCO_OBJECT_METAINFO, DEMO_METAINFO, VOC_METAINFO  # noqa: F401
from .label_dir import COCOObjectLabelDirDataset, DemoLabelDirDataset, LabelDirDataset  # noqa: F401
from .folder import FolderLabelDirDataset  # noqa: F401

__all__ = ['LabelDirDataset', 'COCOObjectLabelDirDataset', 'DemoLabelDirDataset',
           'FolderLabelDirDataset', 'LabelFolderError', 'COCO_CLASSES', 'VOC_METAINFO',
           'COCO_OBJECT_METAINFO', 'DEMO_METAINFO']
