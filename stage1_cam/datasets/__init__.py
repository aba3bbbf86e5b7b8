from .base import (DatasetError, ImageSource, read_image_rgb, read_labels_json,  # noqa: F401
                   read_split_list, write_labels_json)
from .coco import COCOSource  # noqa: F401
from .folder import FolderSource  # noqa: F401
from .voc import (VOC_CLASSES, DemoSource, VOCSource, build_voc_labels, labels_from_xml,  # noqa: F401
                  load_irn_cls_labels)
from .classification import EpochIndexSampler, ImageLabelDataset  # noqa: F401
from . import transforms  # noqa: F401  (registers the transforms)
