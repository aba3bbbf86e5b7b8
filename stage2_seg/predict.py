"""Masks for new photographs from a trained stage-2 model (``tools/predict.py``).

``predict_images(config, checkpoint, inputs, out_dir)``: ``inputs`` is an
image, a folder (nested folders too) or a glob; for each image it writes

* ``out_dir/masks/<id>.png``: the predicted classes as a VOC-palette PNG
  (0 background, 1..C), at the image's size;
* ``out_dir/overlays/<id>.jpg``: the image with the classes painted over it;
* ``out_dir/sheet.jpg`` (``sheet=True``): the overlays side by side;
* ``out_dir/predictions.json``: the classes, and per image the share of each
  predicted class.

Ids as in ``wsss_core.image_folder`` (``beach/dog 1.jpg`` -> ``beach__dog 1``).
``ms``/``flip``/``crf`` are ``tools/test_seg.py``'s protocol, built by the
same functions (``test.build_tta_pipeline``, ``WSSSTTAModel``). The output
folder may not be, nor be inside, a folder the images are read from.
"""
import glob
import math
import os
from pathlib import Path

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope
from mmseg.apis import init_model
from PIL import Image, ImageDraw
from tqdm import tqdm

from wsss_core.checkpoint import CheckpointError, allow_mmengine_checkpoints
from wsss_core.classes import voc_palette
from wsss_core.errors import UserError
from wsss_core.image_folder import IMAGE_EXTENSIONS, ID_SEPARATOR, image_id, index_folder
from wsss_core.io import atomic_path, write_json, write_label_png

from .config_utils import dataset_classes, load
from .crf import DEFAULT_CRF, read_rgb
from .models.tta import WSSSTTAModel
from .test import DEFAULT_TTA_SCALES, _type, build_tta_pipeline

OVERLAY_ALPHA = 0.5
SHEET_COLUMNS, SHEET_CELL = 6, 192


class PredictError(UserError, ValueError):
    """Inputs or an output folder that predict cannot use; says what to change."""


def collect_images(inputs):
    """(roots, {id: path}): the images named by ``inputs`` (a file, a folder or a
    glob) and the folders they are read from."""
    path = Path(inputs)
    if path.is_file():
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise PredictError(f'{path} is not a .jpg/.jpeg/.png image.')
        return [path.resolve().parent], {path.stem: path.resolve()}
    if path.is_dir():
        images = index_folder(path, what='image')
        if not images:
            raise PredictError(f'{path} holds no .jpg/.jpeg/.png image.')
        return [path.resolve()], images
    matches = sorted(p for p in glob.glob(str(inputs), recursive=True)
                     if Path(p).is_file() and Path(p).suffix.lower() in IMAGE_EXTENSIONS)
    if not matches:
        raise PredictError(f'{inputs} is no image, folder or glob matching any .jpg/.jpeg/.png '
                           'file.')
    # The glob's fixed folder (before its first wildcard): ids are paths below it.
    text = str(inputs)
    prefix = text[:min((text.index(c) for c in '*?[' if c in text), default=len(text))]
    base = Path(prefix)
    base = (base if prefix.endswith(os.sep) and base.is_dir() else base.parent).resolve()
    images = {}
    for match in matches:
        match = Path(match).resolve()
        key = image_id(match.relative_to(base))
        if key in images:
            raise PredictError(f'{images[key]} and {match} both have the id {key!r}; rename one.')
        images[key] = match
    return sorted({p.parent for p in images.values()} | {base}), images


def refuse_input_folders(out_dir, roots):
    """Raise PredictError when ``out_dir`` is, or lies inside, an input folder."""
    out = Path(out_dir).resolve()
    for root in roots:
        if out == root or root in out.parents:
            raise PredictError(f'--out {out} is inside the input folder {root}; predictions are '
                               'never written among the images: choose a folder outside it.')


def build_predictor(config, checkpoint, ms=False, flip=False, crf=False, scales=None,
                    device='cpu', cfg_options=None):
    """(model, pipeline, class names) for ``predict_one``."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise CheckpointError(f'checkpoint not found: {checkpoint}; pass a .pth written by '
                              'tools/train_seg.py (its work dir holds iter_N.pth).')
    cfg = load(config, cfg_options=cfg_options)
    allow_mmengine_checkpoints()
    model = init_model(cfg, str(checkpoint), device=device)
    pipeline = [dict(t) for t in cfg.test_dataloader.dataset.pipeline
                if _type(t) != 'LoadAnnotations']
    if ms or flip or crf:
        scales = tuple(scales or cfg.get('tta_scales') or DEFAULT_TTA_SCALES) if ms else (1.0,)
        pipeline = build_tta_pipeline(pipeline, scales=scales, flip=flip)
        model = WSSSTTAModel(module=model, crf=dict(cfg.get('crf') or DEFAULT_CRF)
                             if crf else None).eval()
    with DefaultScope.overwrite_default_scope('mmseg'):
        pipeline = Compose(pipeline)
    names = dataset_classes(cfg.test_dataloader.dataset) or \
        [f'class {i}' for i in range(cfg.model.decode_head.num_classes)]
    return model, pipeline, list(names)


def predict_one(model, pipeline, path):
    """HxW uint8 predicted classes of the image at ``path``."""
    with DefaultScope.overwrite_default_scope('mmseg'):
        data = pseudo_collate([pipeline(dict(img_path=str(path)))])
    with torch.no_grad():
        sample = model.test_step(data)[0]
    return sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)


def overlay(image, label, alpha=OVERLAY_ALPHA):
    """RGB uint8: the classes' palette colours blended over ``image`` (background clear)."""
    colours = np.asarray(voc_palette(), np.float32).reshape(256, 3)[label]
    blend = image.astype(np.float32)
    painted = label > 0
    blend[painted] = (1 - alpha) * blend[painted] + alpha * colours[painted]
    return blend.round().astype(np.uint8)


def contact_sheet(items, path, columns=SHEET_COLUMNS, cell=SHEET_CELL):
    """The overlays as a grid of ``cell`` px thumbnails, each captioned with its id."""
    rows = math.ceil(len(items) / columns)
    width = min(columns, len(items))
    sheet = Image.new('RGB', (width * cell, rows * (cell + 14)), 'white')
    draw = ImageDraw.Draw(sheet)
    for index, (key, picture) in enumerate(items):
        thumb = Image.fromarray(picture)
        thumb.thumbnail((cell, cell))
        x, y = (index % columns) * cell, (index // columns) * (cell + 14)
        sheet.paste(thumb, (x + (cell - thumb.width) // 2, y))
        draw.text((x + 2, y + cell), key[:32], fill='black')
    with atomic_path(path) as tmp:
        sheet.save(tmp, format='JPEG', quality=90)
    return path


def predict_images(config, checkpoint, inputs, out_dir, ms=False, flip=False, crf=False,
                   scales=None, sheet=False, device='cpu', cfg_options=None, progress=True):
    """Predict every image of ``inputs`` into ``out_dir`` (module docstring);
    returns the summary written to ``predictions.json``."""
    roots, images = collect_images(inputs)
    refuse_input_folders(out_dir, roots)
    model, pipeline, names = build_predictor(config, checkpoint, ms=ms, flip=flip, crf=crf,
                                             scales=scales, device=device,
                                             cfg_options=cfg_options)
    out_dir = Path(out_dir)
    shares, thumbs = {}, []
    for key, path in tqdm(images.items(), desc='predict', unit='img', disable=not progress):
        label = predict_one(model, pipeline, path)
        image = read_rgb(str(path))   # decoded as the test pipeline did (EXIF applied)
        write_label_png(out_dir / 'masks' / f'{key}.png', label)
        picture = overlay(image, label)
        with atomic_path(out_dir / 'overlays' / f'{key}.jpg') as tmp:
            Image.fromarray(picture).save(tmp, format='JPEG', quality=90)
        counts = np.bincount(label.ravel(), minlength=len(names))
        shares[key] = {names[c]: round(float(counts[c]) / label.size, 4)
                       for c in np.flatnonzero(counts) if c < len(names)}
        if sheet:
            thumbs.append((key, picture))
    summary = {'config': str(config), 'checkpoint': str(checkpoint), 'inputs': str(inputs),
               'protocol': {'ms': bool(ms), 'flip': bool(flip), 'crf': bool(crf)},
               'classes': names, 'id_separator': ID_SEPARATOR, 'num_images': len(images),
               'masks': str(out_dir / 'masks'), 'overlays': str(out_dir / 'overlays'),
               'class_shares': shares}
    if sheet:
        summary['sheet'] = str(contact_sheet(thumbs, out_dir / 'sheet.jpg'))
    write_json(out_dir / 'predictions.json', summary)
    return summary
