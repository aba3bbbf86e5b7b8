"""Dataset files both stages read: split lists, and the error for bad dataset input."""
import os
from pathlib import Path

from .errors import UserError


class DatasetError(UserError, ValueError):
    """Bad dataset input; the message names the file and the fix."""


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
