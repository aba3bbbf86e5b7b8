"""Dataset files both stages read: split lists, and the error for bad dataset input."""
import os
from pathlib import Path

from .errors import UserError


class DatasetError(UserError, ValueError):
    """Bad dataset input; the message names the file and the fix."""


# Folders of a VOC-layout dataset that hold its images, annotations and ground
# truth: no step ever writes into them.
DATASET_SUBFOLDERS = ('JPEGImages', 'Annotations', 'SegmentationClass', 'SegmentationClassAug',
                      'SegmentationObject', 'ImageSets')


def refuse_write_inside(path, roots, folders, what, is_file=False):
    """Raise DatasetError when writing ``path`` would write into a dataset.

    ``roots``: dataset roots (no output *is* one, nor a file directly in one);
    ``folders``: image/annotation/GT folders (nothing is written anywhere in
    them); ``what`` names the option that chose the path (e.g. '--out-dir').
    Both stages' writers call it (stage 1 with its source's folders, stage 2
    with its dataset configs').
    """
    path = Path(path).resolve()
    folder = path.parent if is_file else path
    folders = [Path(f).resolve() for f in folders if f is not None]
    roots = [Path(r).resolve() for r in roots if r is not None]
    inside = [f for f in folders if folder == f or f in folder.parents]
    at_root = [r for r in roots if folder == r]
    if inside or at_root:
        raise DatasetError(
            f'{what} {path} is inside the dataset folder {(inside or at_root)[0]}, which '
            'holds its images and ground truth and is never written into; choose a path '
            'outside it.')


def read_split_list(path):
    """Ids from a split list; accepts plain ids, IRN lists and L2G/deeplab lists
    (``/JPEGImages/x.jpg /SegmentationClassAug/x.png``): the first token's stem."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f'split list not found: {path}. Pass an existing list file '
                           '(one image id per line).')
    ids = []
    seen = set()
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            token = line.strip().split()[0] if line.strip() else ''
            if not token or token.startswith('#'):
                continue
            image_id = os.path.splitext(os.path.basename(token))[0]
            if image_id in seen:
                raise DatasetError(f'{path}:{line_no}: duplicate image id {image_id!r}; '
                                   'remove the repeated line.')
            seen.add(image_id)
            ids.append(image_id)
    if not ids:
        raise DatasetError(f'split list {path} names no images.')
    return ids
