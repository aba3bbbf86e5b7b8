"""Dense-CRF throughput for pseudo-label generation (not a test).

Measures, on VOC-sized (500x375) images with smooth, realistic content:

* one CRF per image over the background + the image's classes (3 labels)
  against one over all classes (21 labels), for both unary kinds
  (IRN ``label`` preset, PSA/SEAM ``softmax`` preset);
* 1 process against N worker processes (``multiprocessing.Pool``, N =
  ``os.cpu_count()`` unless ``--workers``);
* the IRN confident-region scheme (``make_pseudo_label``: 2 CRFs per image)
  at VOC size and at COCO's common 640x480 size (bg + 3 classes, COCO's
  average is about 2.9 classes per image);

and extrapolates CPU-hours (measured CPU time, one core) and wall-hours (at
the measured N-worker rate) for VOC
train_aug (10,582 images) and COCO train2014 (82,783 images). Writes
``benchmarks/results/crf.json`` and prints a table.

    python benchmarks/bench_crf.py                 # 8 images, about 2-4 min on 2 cores
    python benchmarks/bench_crf.py --images 32 --workers 16
"""
import argparse
import multiprocessing as mp
import os
import platform
import sys
import time

import numpy as np
from PIL import Image
from scipy import ndimage

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from stage1_cam.io import write_json  # noqa: E402
from stage1_cam.refine import background_scores, dense_crf, make_pseudo_label  # noqa: E402

VOC_TRAIN_AUG = 10582
COCO_TRAIN = 82783
VOC_CLASSES = 20


def _smooth_field(rng, height, width, cells, channels):
    """Low-frequency random field: random values on a coarse grid, bicubic up."""
    field = np.empty((height, width, channels), np.float32)
    for c in range(channels):
        coarse = rng.random((cells, cells)).astype(np.float32)
        field[..., c] = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC))
    return field


def make_scene(seed, height=375, width=500, n_objects=2, num_classes=VOC_CLASSES):
    """A synthetic photo-like image with ``n_objects`` objects and CAM-like maps.

    Background and objects get their own smooth colour fields (shading, not
    flat colour), plus sensor noise; each object is an ellipse. Maps are the
    objects' masks pooled to a stride-16 grid, smoothed, displaced by a few
    pixels and bilinearly upsampled, then max-normalised: smooth blobs whose
    boundary is right to about a cell, like CAMs. Returns (image, maps,
    classes) with ``classes`` drawn from 1..num_classes.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    image = 40 + 150 * _smooth_field(rng, height, width, 6, 3)
    masks = []
    for _ in range(n_objects):
        cy, cx = rng.uniform(0.25, 0.75) * height, rng.uniform(0.2, 0.8) * width
        ry, rx = rng.uniform(0.12, 0.3) * height, rng.uniform(0.1, 0.25) * width
        mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        tone = rng.uniform(30, 220, 3) + 40 * (_smooth_field(rng, height, width, 4, 3) - 0.5)
        image[mask] = tone[mask]
        masks.append(mask)
    image = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    stride = 16
    maps = []
    for mask in masks:
        shifted = np.roll(mask, tuple(rng.integers(-8, 9, 2)), axis=(0, 1)).astype(np.float32)
        pad = ((0, -height % stride), (0, -width % stride))
        padded = np.pad(shifted, pad)
        cells = padded.reshape(padded.shape[0] // stride, stride,
                               padded.shape[1] // stride, stride).mean(axis=(1, 3))
        cells = ndimage.gaussian_filter(cells, 1.0)
        full = np.asarray(Image.fromarray(cells).resize(padded.shape[::-1], Image.BILINEAR))
        full = np.clip(full[:height, :width], 0, None)
        maps.append(full / max(float(full.max()), 1e-6))
    classes = np.sort(rng.choice(np.arange(1, num_classes + 1), n_objects, replace=False))
    return image, np.stack(maps).astype(np.float32), classes


def crf_input(kind, maps, classes, all_classes):
    """The CRF input over bg + present classes, or over bg + all classes
    (absent classes get a map of zeros, as a 21-way softmax CRF would see)."""
    if all_classes:
        full = np.zeros((all_classes,) + maps.shape[1:], np.float32)
        full[np.asarray(classes) - 1] = maps
        maps = full
    if kind == 'label':
        return background_scores(maps, 'threshold', 0.30).argmax(axis=0), len(maps) + 1
    probs = background_scores(maps, 'power', alpha=1.0)
    return probs / probs.sum(axis=0, keepdims=True), len(maps) + 1


# -- work items (module level so worker processes can run them) -------------

_SCENES = None


def _init_worker(scenes):
    global _SCENES
    _SCENES = scenes


def _run_crf(task):
    """One CRF; returns the CPU seconds this process spent on it."""
    index, kind, all_classes = task
    image, maps, classes = _SCENES[index]
    start = time.process_time()
    unary, n_labels = crf_input(kind, maps, classes, all_classes)
    dense_crf(image, kind, unary, n_labels)
    return time.process_time() - start


def _run_irn(task):
    """One IRN-scheme pseudo label (2 CRFs); returns its CPU seconds."""
    image, maps, classes = _SCENES[task]
    start = time.process_time()
    make_pseudo_label(image, maps, classes, {'scheme': 'irn'})
    return time.process_time() - start


def _timed(fn, tasks, pool=None):
    """Wall time and CPU time of running ``fn`` over ``tasks``.

    ``seconds_per_image`` is wall time / images; ``cpu_seconds_per_image``
    the CPU time the working processes spent per image, which other jobs on
    the machine inflate much less than wall time (CPU-hour estimates use it).
    """
    start = time.perf_counter()
    if pool is None:
        cpu = [fn(task) for task in tasks]
    else:
        cpu = pool.map(fn, tasks, chunksize=1)
    wall = time.perf_counter() - start
    return {'images': len(tasks), 'wall_s': round(wall, 3),
            'seconds_per_image': round(wall / len(tasks), 4),
            'cpu_seconds_per_image': round(float(np.mean(cpu)), 4),
            'images_per_second': round(len(tasks) / wall, 3)}


def measure(scenes, workers, coco_scenes, progress=print):
    global _SCENES
    _SCENES = scenes
    rows = []
    ctx = mp.get_context('fork') if 'fork' in mp.get_all_start_methods() else mp.get_context()
    configs = [(kind, labels) for labels in (None, VOC_CLASSES) for kind in ('label', 'softmax')]
    with ctx.Pool(workers, initializer=_init_worker, initargs=(scenes,)) as pool:
        pool.map(_run_crf, [(0, 'softmax', None)] * workers)  # warm the workers up
        for kind, all_classes in configs:
            tasks = [(i, kind, all_classes) for i in range(len(scenes))]
            n_labels = (all_classes or scenes[0][2].size) + 1
            for procs in (1, workers):
                result = _timed(_run_crf, tasks, pool if procs > 1 else None)
                rows.append(dict(kind=kind, labels=n_labels,
                                 label_set='all classes' if all_classes else 'present classes',
                                 size='500x375', workers=procs, **result))
                progress(rows[-1])
        irn = {}
        for procs in (1, workers):
            irn[procs] = _timed(_run_irn, list(range(len(scenes))), pool if procs > 1 else None)
            progress({'scheme': 'irn', 'size': '500x375', 'workers': procs, **irn[procs]})
    coco = {}
    _SCENES = coco_scenes
    with ctx.Pool(workers, initializer=_init_worker, initargs=(coco_scenes,)) as pool:
        pool.map(_run_crf, [(0, 'softmax', None)] * workers)
        for procs in (1, workers):
            coco[procs] = _timed(_run_irn, list(range(len(coco_scenes))),
                                 pool if procs > 1 else None)
            progress({'scheme': 'irn', 'size': '640x480', 'workers': procs, **coco[procs]})
    return rows, irn, coco


def extrapolate(cpu_per_image, rate_n, count):
    """CPU-hours (measured CPU seconds per image x images), and wall-hours at
    the measured N-worker rate (on this machine, under its load)."""
    return {'images': count, 'cpu_hours': round(cpu_per_image * count / 3600, 2),
            'wall_hours_n_workers': round(count / rate_n / 3600, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--images', type=int, default=8, help='images per measurement')
    parser.add_argument('--coco-images', type=int, default=None,
                        help='640x480 images for the COCO estimate (default: --images / 2)')
    parser.add_argument('--workers', type=int, default=os.cpu_count(),
                        help='processes of the parallel runs (default: os.cpu_count())')
    parser.add_argument('--out', default=os.path.join(REPO_ROOT, 'benchmarks', 'results',
                                                      'crf.json'))
    args = parser.parse_args()
    coco_count = args.coco_images or max(1, args.images // 2)

    scenes = [make_scene(i) for i in range(args.images)]
    coco_scenes = [make_scene(1000 + i, 480, 640, n_objects=3, num_classes=80)
                   for i in range(coco_count)]
    load_before = os.getloadavg() if hasattr(os, 'getloadavg') else None
    print(f'{args.images} VOC-sized and {coco_count} COCO-sized images; '
          f'{args.workers} worker processes; {os.cpu_count()} CPUs')
    rows, irn, coco = measure(scenes, args.workers, coco_scenes,
                              progress=lambda r: print('  measured', r, flush=True))

    n = args.workers
    estimates = {
        'voc_train_aug': extrapolate(irn[1]['cpu_seconds_per_image'],
                                     irn[n]['images_per_second'], VOC_TRAIN_AUG),
        'coco_train': extrapolate(coco[1]['cpu_seconds_per_image'],
                                  coco[n]['images_per_second'], COCO_TRAIN),
    }
    by_key = {(r['kind'], r['labels'], r['workers']): r for r in rows}
    for kind in ('label', 'softmax'):
        single_all = by_key[(kind, VOC_CLASSES + 1, 1)]['cpu_seconds_per_image']
        estimates[f'voc_train_aug_all_classes_{kind}_2crf'] = {
            'images': VOC_TRAIN_AUG,
            'cpu_hours': round(2 * single_all * VOC_TRAIN_AUG / 3600, 2)}
    result = {
        'benchmark': 'dense CRF (pydensecrf2), 10 mean-field iterations',
        'machine': {'cpus': os.cpu_count(), 'platform': platform.platform(),
                    'processor': platform.processor() or None,
                    'load_average_before': load_before,
                    'load_average_after': os.getloadavg() if load_before else None,
                    'note': 'a load average above the CPU count means other jobs shared '
                            'the cores: times are then upper bounds and the N-worker '
                            'speed-up is understated'},
        'settings': {'images': args.images, 'coco_images': coco_count, 'workers': n,
                     'voc_size': '500x375', 'coco_size': '640x480',
                     'present_classes_voc': 2, 'present_classes_coco': 3},
        'crf': rows,
        'irn_scheme_voc': {str(k): v for k, v in irn.items()},
        'irn_scheme_coco': {str(k): v for k, v in coco.items()},
        'estimates': estimates,
    }
    write_json(args.out, result)

    print()
    print(f'{"kind":8} {"labels":>6} {"workers":>7} {"wall s/img":>10} {"CPU s/img":>10} '
          f'{"img/s":>8}')
    for r in rows:
        print(f'{r["kind"]:8} {r["labels"]:>6} {r["workers"]:>7} '
              f'{r["seconds_per_image"]:>10.3f} {r["cpu_seconds_per_image"]:>10.3f} '
              f'{r["images_per_second"]:>8.2f}')
    for name, table in (('IRN scheme 500x375 (2 CRFs, 3 labels)', irn),
                        ('IRN scheme 640x480 (2 CRFs, 4 labels)', coco)):
        for procs, r in table.items():
            print(f'{name}, {procs} worker(s): {r["seconds_per_image"]:.3f} wall s/img, '
                  f'{r["cpu_seconds_per_image"]:.3f} CPU s/img, {r["images_per_second"]:.2f} img/s')
    print()
    for name, e in estimates.items():
        wall = f', {e["wall_hours_n_workers"]} h wall on {n} workers' \
            if 'wall_hours_n_workers' in e else ''
        print(f'{name}: {e["images"]} images, {e["cpu_hours"]} CPU-hours{wall}')
    print(f'\nwrote {args.out}')


if __name__ == '__main__':
    main()
