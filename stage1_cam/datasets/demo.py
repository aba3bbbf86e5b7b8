"""A synthetic VOC-layout dataset that reproduces the failure BAS addresses.

Plain CAM covers only the most discriminative part of an object. This
generator makes that happen on purpose, on images small enough for a CPU:

* every object is a large, elongated **body** (86-90 % of its visible area)
  carrying a weaker class cue: a low-saturation tint, a low-contrast texture
  and an aspect ratio, each shared with or close to another class, jittered
  per instance, and echoed by head-less "decoy" bodies in the background;
* plus a small **head** (10-14 % of its visible area) at one end of the body,
  in a saturated colour with a marking, unique to the class and never drawn
  anywhere else.

1-3 objects per image (1-2 distinct classes usually, sometimes one class
twice); bodies are long (up to about 85 % of the image side) so that most of an
object lies beyond the reach of a CAM blob centred on its head. A classifier
therefore gets its evidence from the head first (CAM lands there), while the
body alone still classifies well above chance (so BAS has something to grow
into). ``generate_demo_dataset(..., heads='body')`` renders the head
region with the body texture instead: the same images with the
discriminative evidence removed, for checking that second property.

Folder layout (VOC-like)::

    JPEGImages/<id>.jpg              RGB, JPEG quality 90
    SegmentationClass/<id>.png       VOC palette indices: 0 background,
                                     1..C class, 255 ignore (only with
                                     ignore_border > 0: a band that wide along
                                     every label edge, as in VOC)
    parts/<id>.png                   0 background, 1 head, 2 body (visible pixels)
    ImageSets/Segmentation/train.txt, val.txt
    labels.json                      labels JSON of base.py, all images
    meta.json                        seed, counts, classes, generator version

Every image draws from its own generator seeded by (seed, split, index), so
an image does not depend on how many others are made, and the same
arguments give byte-identical files (with the same numpy, scipy and Pillow
builds: the JPEG encoder belongs to Pillow). Re-running into a demo folder
regenerates every file (atomic writes) and deletes demo files of images no
longer listed; it refuses any other non-empty folder.
"""
import colorsys
import functools
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image
from scipy import ndimage

from wsss_core.classes import DEMO_CLASSES
from wsss_core.io import atomic_path, read_json, write_json, write_label_png, write_lines

from .base import DatasetError, write_labels_json

GENERATOR_VERSION = 1
_GENERATOR_NAME = 'stage1_cam.datasets.demo'


# Designed share of the head in an object's visible area (checked per image
# and class after occlusion; see _place_objects).
HEAD_SHARE_RANGE = (0.10, 0.14)

PART_HEAD, PART_BODY = 1, 2

# ----------------------------------------------------------------------------
# Class appearance.
#
# Heads: saturated, one hue per class, 60 degrees apart, plus a marking.
# Bodies: tints at low saturation whose hues do NOT follow the head hues
# (otherwise "redness" would be one feature for head and body), and three
# texture families each used by two classes: a body is only identified by
# the combination of tint, texture and shape, all jittered per instance.
# ----------------------------------------------------------------------------
class _Style(NamedTuple):
    head_hue: float     # saturated head colour (HSV hue)
    marking: str        # 'eye', 'ring' or 'band' drawn on the head
    body_hue: float     # low-saturation body tint
    body_sat: float
    texture: str        # 'stripes', 'spots' or 'mottle'
    texture_scale: float   # pixels
    aspect: float       # mean length / width of the body


_CLASS_STYLE = {
    'fox':    _Style(0.00, 'eye',  0.58, 0.22, 'stripes', 5.0, 2.2),
    'owl':    _Style(0.16, 'ring', 0.08, 0.24, 'spots',   3.0, 1.7),
    'frog':   _Style(0.33, 'eye',  0.83, 0.20, 'mottle',  4.0, 1.9),
    'fish':   _Style(0.50, 'band', 0.25, 0.22, 'stripes', 3.0, 2.5),
    'beetle': _Style(0.66, 'ring', 0.42, 0.20, 'spots',   4.5, 1.8),
    'snail':  _Style(0.83, 'band', 0.00, 0.18, 'mottle',  2.5, 2.0),
}


@functools.lru_cache(maxsize=4)
def _grid(shape):
    """Pixel coordinates (yy, xx) as float arrays, shared and read-only."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    yy.flags.writeable = xx.flags.writeable = False
    return yy, xx


def _hsv(h, s, v):
    return np.array(colorsys.hsv_to_rgb(h % 1.0, float(np.clip(s, 0, 1)), float(np.clip(v, 0, 1))))


# ----------------------------------------------------------------------------
# Textures: HxW fields in [-1, 1] (zero mean-ish), shown at low contrast.
# ----------------------------------------------------------------------------
def _smooth_noise(rng, shape, sigma):
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode='wrap')
    return field / (np.abs(field).max() + 1e-6)


def _texture(rng, shape, kind, scale):
    """One texture family; ``scale`` is its characteristic size in pixels."""
    yy, xx = _grid(shape)
    if kind == 'stripes':
        # Wavy stripes: a warped sine, so it is not a clean frequency peak.
        angle = rng.uniform(0, np.pi)
        warp = 2.5 * _smooth_noise(rng, shape, 6)
        phase = (xx * np.cos(angle) + yy * np.sin(angle)) / scale
        return np.sin(2 * np.pi * phase / 2 + warp)
    if kind == 'spots':
        # Sparse blobs of about ``scale`` pixels.
        seeds = (rng.random(shape) < 1.2 / scale ** 2).astype(np.float64)
        spots = ndimage.gaussian_filter(seeds, scale / 2.0, mode='wrap')
        spots /= spots.max() + 1e-6
        return 2 * np.clip(spots * 2.5, 0, 1) - 1
    if kind == 'mottle':
        return np.sign(_smooth_noise(rng, shape, scale)) * 0.8 + 0.2 * _smooth_noise(rng, shape, 1)
    raise ValueError(kind)


# ----------------------------------------------------------------------------
# Shapes: boolean HxW masks.
# ----------------------------------------------------------------------------
def _blob_mask(shape, center, radii, angle, harmonics):
    """A rotated ellipse with a wobbly outline (low radial harmonics)."""
    yy, xx = _grid(shape)
    dx, dy = xx - center[0], yy - center[1]
    u = (dx * np.cos(angle) + dy * np.sin(angle)) / radii[0]
    v = (-dx * np.sin(angle) + dy * np.cos(angle)) / radii[1]
    rho, phi = np.hypot(u, v), np.arctan2(v, u)
    limit = np.ones_like(phi)
    for k, (amp, ph) in enumerate(harmonics, start=2):
        limit += amp * np.cos(k * phi + ph)
    return rho < limit


def _disk_mask(shape, center, radius):
    yy, xx = _grid(shape)
    return (xx - center[0]) ** 2 + (yy - center[1]) ** 2 < radius ** 2


# Half-length of a body, as a fraction of the image side, by the number of
# objects in the image: large, elongated bodies put most of the object far
# from the head, beyond the reach of a CAM blob centred on the head.
_BODY_LENGTH = {1: (0.32, 0.42), 2: (0.27, 0.35), 3: (0.22, 0.29)}


def _random_body(rng, shape, aspect, length):
    """Body mask with the given mean aspect ratio and half-length range;
    sizes are fractions of the image so the layout scales with image_size."""
    h, w = shape
    semi_major = rng.uniform(*length) * min(h, w)
    aspect = aspect * rng.uniform(0.85, 1.15)
    radii = (semi_major, semi_major / aspect)
    margin = 0.5 * radii[0]   # bodies may leave the frame a little; heads may not
    center = (rng.uniform(margin, w - margin), rng.uniform(margin, h - margin))
    angle = rng.uniform(0, 2 * np.pi)
    harmonics = [(rng.uniform(0, 0.08), rng.uniform(0, 2 * np.pi)) for _ in range(3)]
    return _blob_mask(shape, center, radii, angle, harmonics), center, radii, angle


def _attach_head(rng, shape, body, center, angle, share):
    """A disk at one end of the body's long axis, sized by bisection so that
    head / (head | body) == share. Returns (head, body_without_head)."""
    direction = angle + (np.pi if rng.random() < 0.5 else 0.0) + rng.uniform(-0.5, 0.5)
    unit = np.array([np.cos(direction), np.sin(direction)])
    # Walk out along the ray to the body's outline, so the head stays attached.
    steps = center + np.arange(0, max(shape), 0.5)[:, None] * unit
    cols, rows = np.round(steps).astype(int).T
    inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    hit = np.zeros(len(steps), bool)
    hit[inside] = body[rows[inside], cols[inside]]
    reach = 0.5 * np.nonzero(hit)[0].max() if hit.any() else 0.0

    def head_for(radius):
        # Centre just inside the outline: the head sticks out by about 80 %.
        return _disk_mask(shape, center + unit * (reach - 0.2 * radius), radius)

    lo, hi = 1.0, 0.5 * min(shape)
    for _ in range(12):
        mid = 0.5 * (lo + hi)
        head = head_for(mid)
        s = head.sum() / max(1, (head | body).sum())
        lo, hi = (mid, hi) if s < share else (lo, mid)
    head = head_for(0.5 * (lo + hi))
    return head, body & ~head


# ----------------------------------------------------------------------------
# Painting.
# ----------------------------------------------------------------------------
def _paint(canvas, mask, rgb_field):
    canvas[mask] = rgb_field[mask]


def _body_field(rng, shape, style):
    """RGB field of a class body: jittered tint, low-contrast texture, shading."""
    base = _hsv(style.body_hue + rng.normal(0, 0.04), style.body_sat * rng.uniform(0.6, 1.3),
                rng.uniform(0.40, 0.75))
    tex = _texture(rng, shape, style.texture, style.texture_scale * rng.uniform(0.8, 1.25))
    contrast = rng.uniform(0.06, 0.12)
    shading = 0.08 * _smooth_noise(rng, shape, 10)
    lum = 1.0 + contrast * tex + shading
    return base[None, None, :] * lum[..., None]


def _head_field(rng, shape, style, head):
    """RGB field of a class head: saturated colour plus a class marking."""
    marking = style.marking
    colour = _hsv(style.head_hue + rng.normal(0, 0.015), rng.uniform(0.8, 1.0), rng.uniform(0.8, 1.0))
    field = np.broadcast_to(colour, shape + (3,)).copy()
    ys, xs = np.nonzero(head)
    cy, cx = ys.mean(), xs.mean()
    r = np.sqrt(head.sum() / np.pi)
    yy, xx = _grid(shape)
    if marking == 'eye':      # a dark dot, off centre
        ang = rng.uniform(0, 2 * np.pi)
        mark = np.hypot(xx - cx - 0.35 * r * np.cos(ang), yy - cy - 0.35 * r * np.sin(ang)) < 0.3 * r
        field[mark] = 0.08
    elif marking == 'ring':   # a light ring
        d = np.hypot(xx - cx, yy - cy)
        field[(d > 0.45 * r) & (d < 0.7 * r)] = 0.95
    elif marking == 'band':   # a dark band across
        ang = rng.uniform(0, np.pi)
        d = (xx - cx) * np.cos(ang) + (yy - cy) * np.sin(ang)
        field[np.abs(d) < 0.2 * r] = 0.1
    return field


def _background(rng, shape, decoy_rate):
    """Cluttered background: gradient, noise, textured blobs, lines, and
    head-less decoy bodies of random classes. Never saturated: no head colour
    ever appears outside a head."""
    h, w = shape
    # Low-saturation gradient between two random colours.
    c0 = _hsv(rng.random(), rng.uniform(0, 0.25), rng.uniform(0.3, 0.8))
    c1 = _hsv(rng.random(), rng.uniform(0, 0.25), rng.uniform(0.3, 0.8))
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = _grid(shape)
    t = (xx * np.cos(angle) + yy * np.sin(angle))
    t = (t - t.min()) / (np.ptp(t) + 1e-6)
    canvas = c0 * (1 - t[..., None]) + c1 * t[..., None]
    canvas *= 1 + 0.10 * _smooth_noise(rng, shape, 8)[..., None]

    styles = list(_CLASS_STYLE.values())
    kinds = ['stripes', 'spots', 'mottle']
    # Generic clutter blobs: random dull colours and the same texture families
    # as the bodies, so texture alone is weak evidence.
    for _ in range(rng.integers(3, 8)):
        radius = rng.uniform(0.04, 0.16) * min(h, w)
        mask = _blob_mask(shape, (rng.uniform(0, w), rng.uniform(0, h)),
                          (radius * rng.uniform(0.6, 1.6), radius * rng.uniform(0.6, 1.0)),
                          rng.uniform(0, 2 * np.pi),
                          [(rng.uniform(0, 0.15), rng.uniform(0, 2 * np.pi)) for _ in range(3)])
        colour = _hsv(rng.random(), rng.uniform(0, 0.3), rng.uniform(0.25, 0.85))
        tex = _texture(rng, shape, kinds[rng.integers(3)], rng.uniform(2.5, 5.0))
        _paint(canvas, mask, colour * (1 + rng.uniform(0.03, 0.15) * tex)[..., None])
    # Decoys: a class body's look on a head-less blob (the body evidence
    # is weaker than the head's partly because it is not exclusive).
    for _ in range(rng.poisson(decoy_rate)):
        style = styles[rng.integers(len(styles))]
        mask = _random_body(rng, shape, style.aspect, _BODY_LENGTH[3])[0]
        _paint(canvas, mask, _body_field(rng, shape, style))
    # Thin lines.
    for _ in range(rng.integers(2, 6)):
        p0, p1 = rng.uniform(0, 1, 2) * (w, h), rng.uniform(0, 1, 2) * (w, h)
        seg = p1 - p0
        along = np.clip(((xx - p0[0]) * seg[0] + (yy - p0[1]) * seg[1]) / (seg @ seg + 1e-6), 0, 1)
        dist = np.hypot(xx - p0[0] - along * seg[0], yy - p0[1] - along * seg[1])
        colour = _hsv(rng.random(), rng.uniform(0, 0.3), rng.uniform(0.1, 0.9))
        canvas[dist < rng.uniform(0.5, 1.8)] = colour
    return canvas


def _choose_classes(rng, num_classes):
    """1-3 objects of usually 1-2 distinct classes, sometimes a class twice."""
    distinct = rng.choice([1, 2, 3], p=[0.55, 0.38, 0.07])
    classes = list(rng.choice(num_classes, size=distinct, replace=False) + 1)
    if len(classes) < 3 and rng.random() < 0.2:
        classes.append(classes[rng.integers(len(classes))])
    return classes


def _place_objects(rng, shape, classes, max_tries=60):
    """Masks of each object (head, body), placed in painter's order.

    A placement is rejected if it covers an earlier head, hides more than a
    fifth of an earlier body, or leaves any class's visible head share outside
    HEAD_SHARE_RANGE; so every listed class stays visible and its head share
    is as designed. Returns a list of (class, head, body) of VISIBLE pixels.
    """
    placed = []   # (class, head, body), visible pixels
    for cls in classes:
        style = _CLASS_STYLE[DEMO_CLASSES[cls - 1]]
        for _ in range(max_tries):
            body, center, _, angle = _random_body(rng, shape, style.aspect,
                                                 _BODY_LENGTH[len(classes)])
            share = rng.uniform(HEAD_SHARE_RANGE[0] + 0.005, HEAD_SHARE_RANGE[1] - 0.015)
            head, body = _attach_head(rng, shape, body, np.array(center), angle, share)
            new = head | body
            if not head.any() or _touches_border(head):
                continue
            if any((h & new).any() or ((b & new).sum() > 0.2 * b.sum()) for _, h, b in placed):
                continue
            trial = [(c, h, b & ~new) for c, h, b in placed] + [(cls, head, body)]
            if _shares_ok(trial):
                placed = trial
                break
        # After max_tries the object is skipped; the image keeps the others.
    return placed


def _touches_border(mask):
    return mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()


def _shares_ok(objects):
    """Visible head share of every class (objects of one class merge in the
    label map, so that is what a user of the dataset can measure)."""
    for cls in {c for c, _, _ in objects}:
        head = sum(h.sum() for c, h, _ in objects if c == cls)
        body = sum(b.sum() for c, _, b in objects if c == cls)
        if not HEAD_SHARE_RANGE[0] <= head / max(1, head + body) <= HEAD_SHARE_RANGE[1]:
            return False
    return True


def render_demo_image(rng, image_size=(128, 128), heads='discriminative', decoy_rate=1.0):
    """One sample: (rgb uint8 HxWx3, label uint8 HxW, parts uint8 HxW).

    ``heads='body'`` paints the head region with the object's body texture
    (same layout and masks), removing the discriminative evidence.
    """
    if heads not in ('discriminative', 'body'):
        raise ValueError(f"heads must be 'discriminative' or 'body', got {heads!r}")
    shape = (int(image_size[0]), int(image_size[1]))
    classes = _choose_classes(rng, len(DEMO_CLASSES))
    canvas = _background(rng, shape, decoy_rate)
    objects = []
    while not objects:   # (only if every try failed; keeps one object at least)
        objects = _place_objects(rng, shape, classes)
    label = np.zeros(shape, np.uint8)
    parts = np.zeros(shape, np.uint8)
    for cls, head, body in objects:   # visible pixels: order no longer matters
        style = _CLASS_STYLE[DEMO_CLASSES[cls - 1]]
        body_rgb = _body_field(rng, shape, style)
        head_rgb = _head_field(rng, shape, style, head)
        _paint(canvas, body, body_rgb)
        _paint(canvas, head, head_rgb if heads == 'discriminative' else body_rgb)
        label[head | body] = cls
        parts[head] = PART_HEAD
        parts[body] = PART_BODY
    # Camera-ish finish: slight blur, global gain, sensor noise.
    canvas = ndimage.gaussian_filter(canvas, (0.6, 0.6, 0))
    canvas = canvas * rng.uniform(0.85, 1.15) + rng.normal(0, 0.025, canvas.shape)
    rgb = (np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8)
    return rgb, label, parts


def _add_ignore_border(label, width):
    """VOC-style: 255 on pixels within ``width`` of a change of label."""
    if width <= 0:
        return label
    size = 2 * width + 1
    edge = ndimage.maximum_filter(label, size) != ndimage.minimum_filter(label, size)
    out = label.copy()
    out[edge] = 255
    return out


# ----------------------------------------------------------------------------
# Writing the folder.
# ----------------------------------------------------------------------------
_SPLIT_CODES = {'train': 0, 'val': 1}
_MANAGED = {'JPEGImages': '.jpg', 'SegmentationClass': '.png', 'parts': '.png'}


def _check_target(out_dir):
    if out_dir.exists() and not out_dir.is_dir():
        raise DatasetError(f'{out_dir} exists and is not a folder; choose another --out.')
    if out_dir.is_dir() and any(out_dir.iterdir()) and not _is_ours(out_dir / 'meta.json'):
        raise DatasetError(
            f'{out_dir} is not empty and is not a demo dataset (no demo meta.json); refusing '
            'to write into it. Choose an empty or new folder, or a previous demo folder.')


def _is_ours(meta_path):
    """meta.json written by this generator (finished or not)."""
    try:
        return meta_path.is_file() and read_json(meta_path).get('generator') == _GENERATOR_NAME
    except (ValueError, AttributeError):
        return False


def _write_jpeg(path, rgb):
    with atomic_path(path) as tmp:
        Image.fromarray(rgb, mode='RGB').save(tmp, format='JPEG', quality=90)


def generate_demo_dataset(out_dir, seed=0, num_train=400, num_val=100, image_size=(128, 128),
                          ignore_border=0, heads='discriminative', decoy_rate=1.0, verbose=False):
    """Write the demo dataset to ``out_dir`` and return its meta dict.

    ``image_size`` is (height, width); 128x128 keeps a MobileNetV2 CAM run to
    minutes on two CPU cores while objects span 8+ cells of a stride-8 map.
    ``ignore_border``: width in pixels of the 255 band along label edges in
    SegmentationClass (0 = exact masks; they are rendered, not drawn by hand).
    ``heads`` and ``decoy_rate`` are analysis knobs (see render_demo_image);
    keep the defaults for the benchmark.
    """
    out_dir = Path(out_dir)
    _check_target(out_dir)
    if num_train < 1 or num_val < 0:
        raise DatasetError(f'need num_train >= 1 and num_val >= 0, got {num_train}, {num_val}')
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        'generator': _GENERATOR_NAME,
        'generator_version': GENERATOR_VERSION,
        'seed': int(seed),
        'num_train': int(num_train),
        'num_val': int(num_val),
        'image_size': [int(image_size[0]), int(image_size[1])],
        'class_names': list(DEMO_CLASSES),
        'ignore_border': int(ignore_border),
        'heads': heads,
        'decoy_rate': float(decoy_rate),
        'head_share_range': list(HEAD_SHARE_RANGE),
        'parts': {'0': 'background', str(PART_HEAD): 'discriminative head',
                  str(PART_BODY): 'body'},
        'complete': False,
    }
    # Marks the folder as ours at once, so an interrupted run can be redone.
    write_json(out_dir / 'meta.json', meta)

    labels, splits = {}, {}
    for split, count in (('train', num_train), ('val', num_val)):
        splits[split] = []
        for index in range(count):
            image_id = f'{split}_{index:05d}'
            rng = np.random.default_rng([int(seed), _SPLIT_CODES[split], index])
            rgb, label, parts = render_demo_image(rng, image_size, heads, decoy_rate)
            _write_jpeg(out_dir / 'JPEGImages' / f'{image_id}.jpg', rgb)
            write_label_png(out_dir / 'SegmentationClass' / f'{image_id}.png',
                            _add_ignore_border(label, ignore_border))
            write_label_png(out_dir / 'parts' / f'{image_id}.png', parts)
            labels[image_id] = sorted(int(c) for c in np.unique(label) if c != 0)
            splits[split].append(image_id)
        write_lines(out_dir / 'ImageSets' / 'Segmentation' / f'{split}.txt', splits[split])
        if verbose:
            print(f'{split}: {count} images')

    _remove_stale(out_dir, set(labels))
    write_labels_json(out_dir / 'labels.json', DEMO_CLASSES, labels)
    meta['complete'] = True
    write_json(out_dir / 'meta.json', meta)
    meta['seconds'] = round(time.perf_counter() - started, 2)   # returned, not written
    return meta


def _remove_stale(out_dir, keep_ids):
    """Delete demo files of ids a previous, larger run wrote."""
    for folder, suffix in _MANAGED.items():
        for path in (out_dir / folder).glob(f'*{suffix}'):
            stem = path.stem
            if stem.split('_')[0] in _SPLIT_CODES and stem not in keep_ids:
                path.unlink()


def is_demo_folder(path):
    """True when ``path`` holds a completed demo dataset."""
    meta_path = Path(path) / 'meta.json'
    return _is_ours(meta_path) and bool(read_json(meta_path).get('complete'))
