"""Class lists of the stage-2 datasets: background first, then the classes in
the order stage 1 numbers them (1..C), so a pseudo-label value is the index.

The foreground names must equal the ``class_names`` stage 1 writes into a
pseudo-label manifest (the image source's class names): that equality is how
a label folder is matched to a dataset.
"""
from wsss_core.classes import COCO_CLASSES, DEMO_CLASSES, VOC_CLASSES, voc_palette

BACKGROUND = 'background'

# COCO_CLASSES: the 80 instance categories sorted by category id (1..90 with
# gaps), i.e. the contiguous labels 1..80 that stage 1's COCO source assigns.


def palette(num_classes):
    """The VOC colour map's first ``num_classes`` colours as [[r, g, b], ...]:
    the colours of the palette PNGs that stage 1 writes and VOC ships."""
    flat = voc_palette()
    return [flat[3 * i:3 * i + 3] for i in range(num_classes)]


def metainfo(foreground):
    """mmseg METAINFO for background + ``foreground`` classes."""
    classes = (BACKGROUND, *foreground)
    return dict(classes=classes, palette=palette(len(classes)))


VOC_METAINFO = metainfo(VOC_CLASSES)          # 21 classes
COCO_OBJECT_METAINFO = metainfo(COCO_CLASSES)  # 81 classes
DEMO_METAINFO = metainfo(DEMO_CLASSES)        # 7 classes
