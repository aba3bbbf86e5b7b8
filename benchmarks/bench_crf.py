"""Dense-CRF throughput for pseudo-label generation (not a test).

Measures, on VOC-sized (500x375) images with smooth, realistic content:

* one CRF per image over the background + the image's classes (3 labels)
  against one over all classes (21 labels), for both unary kinds
  (IRN ``label`` preset, PSA/SEAM ``softmax`` preset);
* 1 worker process against N (``multiprocessing.Pool``, N = 2 unless
  ``--workers``; goal: >= 1.8x on 2 workers of an idle machine), alternating
  per repetition so the speed-up compares runs measured side by side;
* the IRN confident-region scheme (``make_pseudo_label``: 2 CRFs per image)
  at VOC size and at COCO's common 640x480 size (bg + 3 classes, COCO's
  average is about 2.9 classes per image);

with the allocator setting ``make_pseudo_labels`` runs its workers under
(``stage1_cam.allocator.keep_freed_memory``, inherited through fork), and
extrapolates CPU-hours (measured CPU time, one core) and wall-hours (at
the measured N-worker rate) for VOC
train_aug (10,582 images) and COCO train2014 (82,783 images). Writes
``benchmarks/results/crf.json`` and prints a table.

    OMP_NUM_THREADS=1 python3 benchmarks/bench_crf.py [--quick]   # full: 24 images x 5 repeats
    OMP_NUM_THREADS=1 python3 benchmarks/bench_crf.py --allocator glibc  # without keep_freed_memory
    OMP_NUM_THREADS=1 python3 benchmarks/bench_crf.py --images 32 --workers 16
"""
import argparse
import multiprocessing as mp
import os
import time

import numpy as np
from PIL import Image
from scipy import ndimage

from common import finish_machine_info, machine_info, markdown_table, write_result
from stage1_cam.refine import background_scores, make_pseudo_label
from wsss_core.crf import dense_crf

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
    return {'images': len(tasks), 'wall_s': wall, 'cpu_s': float(np.sum(cpu))}


def _aggregate(runs):
    """One row from repeated runs: medians of wall and CPU seconds per image."""
    images = runs[0]['images']
    wall = float(np.median([r['wall_s'] for r in runs])) / images
    cpu = float(np.median([r['cpu_s'] for r in runs])) / images
    return {'images': images, 'repeats': len(runs), 'seconds_per_image': round(wall, 4),
            'cpu_seconds_per_image': round(cpu, 4), 'images_per_second': round(1 / wall, 3)}


def _speedup(single, parallel):
    """Median over repetitions of (1-worker wall time / N-worker wall time)."""
    return round(float(np.median([a['wall_s'] / b['wall_s'] for a, b in zip(single, parallel)])),
                 3)


def measure(scenes, workers, coco_scenes, repeats, progress=print):
    """All CRF rows. 1 and N workers both run through a process pool (same
    pickling and dispatch), alternating per repetition, so the speed-up is a
    ratio of runs measured next to each other."""
    global _SCENES
    _SCENES = scenes
    rows = []
    ctx = mp.get_context('fork') if 'fork' in mp.get_all_start_methods() else mp.get_context()
    configs = [(kind, labels) for labels in (None, VOC_CLASSES) for kind in ('label', 'softmax')]
    with ctx.Pool(1, initializer=_init_worker, initargs=(scenes,)) as one, \
            ctx.Pool(workers, initializer=_init_worker, initargs=(scenes,)) as many:
        for pool in (one, many):
            pool.map(_run_crf, [(0, 'softmax', None)] * workers)  # warm the workers up
        pools = {1: one, workers: many}
        for kind, all_classes in configs:
            tasks = [(i, kind, all_classes) for i in range(len(scenes))]
            n_labels = (all_classes or scenes[0][2].size) + 1
            runs = {1: [], workers: []}
            for rep in range(repeats):
                for procs in ((1, workers) if rep % 2 == 0 else (workers, 1)):
                    runs[procs].append(_timed(_run_crf, tasks, pools[procs]))
            for procs in (1, workers):
                rows.append(dict(kind=kind, labels=n_labels,
                                 label_set='all classes' if all_classes else 'present classes',
                                 size='500x375', workers=procs, **_aggregate(runs[procs]),
                                 speedup_vs_1_worker=_speedup(runs[1], runs[procs])))
                progress(rows[-1])
        irn = _irn_rows(pools, list(range(len(scenes))), workers, repeats)
        progress({'scheme': 'irn', 'size': '500x375', **irn})
    _SCENES = coco_scenes
    with ctx.Pool(1, initializer=_init_worker, initargs=(coco_scenes,)) as one, \
            ctx.Pool(workers, initializer=_init_worker, initargs=(coco_scenes,)) as many:
        for pool in (one, many):
            pool.map(_run_crf, [(0, 'softmax', None)] * workers)
        coco = _irn_rows({1: one, workers: many}, list(range(len(coco_scenes))), workers, repeats)
        progress({'scheme': 'irn', 'size': '640x480', **coco})
    return rows, irn, coco


def _irn_rows(pools, tasks, workers, repeats):
    runs = {1: [], workers: []}
    for rep in range(repeats):
        for procs in ((1, workers) if rep % 2 == 0 else (workers, 1)):
            runs[procs].append(_timed(_run_irn, tasks, pools[procs]))
    out = {str(procs): _aggregate(runs[procs]) for procs in (1, workers)}
    out[str(workers)]['speedup_vs_1_worker'] = _speedup(runs[1], runs[workers])
    return out


def extrapolate(cpu_per_image, rate_n, count):
    """CPU-hours (measured CPU seconds per image x images), and wall-hours at
    the measured N-worker rate (on this machine, under its load)."""
    return {'images': count, 'cpu_hours': round(cpu_per_image * count / 3600, 2),
            'wall_hours_n_workers': round(count / rate_n / 3600, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true',
                        help='4 VOC-sized and 2 COCO-sized images, 1 repetition')
    parser.add_argument('--images', type=int, default=None,
                        help='VOC-sized images per measurement (default 24, quick 4): with '
                             'few images the last one leaves a worker idle and the '
                             'speed-up reads low (8 images gave 1.59-2.03x)')
    parser.add_argument('--coco-images', type=int, default=None,
                        help='640x480 images for the COCO estimate '
                             '(default: max(--workers, --images / 2))')
    parser.add_argument('--repeats', type=int, default=None,
                        help='alternating 1-worker / N-worker repetitions (default 5, quick 1)')
    parser.add_argument('--workers', type=int, default=min(2, os.cpu_count() or 1),
                        help='processes of the parallel runs (default 2, the goal\'s setting)')
    parser.add_argument('--allocator', choices=('keep_freed', 'glibc'), default='keep_freed',
                        help="keep_freed (default): stage1_cam.allocator.keep_freed_memory() "
                             "before the workers fork, as make_pseudo_labels does; glibc: "
                             "the C library's defaults")
    parser.add_argument('--out', default=None)
    args = parser.parse_args()
    if args.allocator == 'keep_freed':
        # workers fork from this process and inherit the setting
        from stage1_cam.allocator import keep_freed_memory
        keep_freed_memory()
    images = args.images or (4 if args.quick else 24)
    repeats = args.repeats or (1 if args.quick else 5)
    coco_count = args.coco_images or max(args.workers, images // 2)

    machine = machine_info()
    scenes = [make_scene(i) for i in range(images)]
    coco_scenes = [make_scene(1000 + i, 480, 640, n_objects=3, num_classes=80)
                   for i in range(coco_count)]
    print(f'{images} VOC-sized and {coco_count} COCO-sized images; {args.workers} worker '
          f'processes; {os.cpu_count()} CPUs; {repeats} repetition(s)')
    rows, irn, coco = measure(scenes, args.workers, coco_scenes, repeats,
                              progress=lambda r: print('  measured', r, flush=True))

    n = str(args.workers)
    estimates = {
        'voc_train_aug': extrapolate(irn['1']['cpu_seconds_per_image'],
                                     irn[n]['images_per_second'], VOC_TRAIN_AUG),
        'coco_train': extrapolate(coco['1']['cpu_seconds_per_image'],
                                  coco[n]['images_per_second'], COCO_TRAIN),
    }
    by_key = {(r['kind'], r['labels'], r['workers']): r for r in rows}
    for kind in ('label', 'softmax'):
        single_all = by_key[(kind, VOC_CLASSES + 1, 1)]['cpu_seconds_per_image']
        estimates[f'voc_train_aug_all_classes_{kind}_2crf'] = {
            'images': VOC_TRAIN_AUG,
            'cpu_hours': round(2 * single_all * VOC_TRAIN_AUG / 3600, 2)}
    present_vs_all = {kind: round(by_key[(kind, VOC_CLASSES + 1, 1)]['cpu_seconds_per_image']
                                  / by_key[(kind, 3, 1)]['cpu_seconds_per_image'], 2)
                      for kind in ('label', 'softmax')}
    speedups = [r['speedup_vs_1_worker'] for r in rows if r['workers'] == args.workers]
    speedups += [irn[n]['speedup_vs_1_worker'], coco[n]['speedup_vs_1_worker']]
    table = markdown_table(
        ['CRF', 'labels', 'size', 'workers', 'img/s', 'wall s/img', 'CPU s/img',
         'speed-up vs 1 worker'],
        [[r['kind'], f'{r["labels"]} ({r["label_set"]})', r['size'], r['workers'],
          r['images_per_second'], r['seconds_per_image'], r['cpu_seconds_per_image'],
          r['speedup_vs_1_worker']] for r in rows]
        + [['IRN scheme (2 label-CRFs)', f'{labels}', size, procs, r['images_per_second'],
            r['seconds_per_image'], r['cpu_seconds_per_image'], r.get('speedup_vs_1_worker', 1.0)]
           for labels, size, table_ in ((3, '500x375', irn), (4, '640x480', coco))
           for procs, r in table_.items()])
    table += '\n' + markdown_table(
        ['dataset', 'images', 'CPU-hours (IRN scheme, present classes)',
         f'wall-hours on {n} workers (this machine)'],
        [['VOC train_aug', VOC_TRAIN_AUG, estimates['voc_train_aug']['cpu_hours'],
          estimates['voc_train_aug']['wall_hours_n_workers']],
         ['COCO train2014', COCO_TRAIN, estimates['coco_train']['cpu_hours'],
          estimates['coco_train']['wall_hours_n_workers']]])
    result = {
        'benchmark': 'dense CRF (pydensecrf2), 10 mean-field iterations',
        'quick': args.quick,
        'settings': {'images': images, 'coco_images': coco_count, 'workers': args.workers,
                     'repeats': repeats, 'voc_size': '500x375', 'coco_size': '640x480',
                     'allocator': args.allocator,
                     'present_classes_voc': 2, 'present_classes_coco': 3},
        'crf': rows,
        'irn_scheme_voc': irn,
        'irn_scheme_coco': coco,
        'all_over_present_cpu_ratio': present_vs_all,
        'estimates': estimates,
        'goals': {f'speedup_{n}_workers_ge_1.8': min(speedups) >= 1.8,
                  'min_speedup': min(speedups)},
        'table': table,
        'machine': finish_machine_info(machine),
    }
    path = write_result('crf', result, args.out)
    print()
    print(table)
    print(f'all classes / present classes CPU time: {present_vs_all}')
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
