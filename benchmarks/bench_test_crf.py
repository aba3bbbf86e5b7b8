"""Stage-2 test CRF (``tools/test_seg.py --crf``, ``stage2_seg.crf_test_loop``): not a test.

Measures, on real photographs at their own size (COCO: ../shared tinycoco,
32 COCO val2017 images of about 640x480, 81 classes; VOC: ../shared
vainf-deeplabv3plus, 14 VOC val images of 513x513, 21 classes):

* the CRF over all classes (``prob_floor=0``, the old behaviour) against the
  CRF over the classes that reach the floor (default 0.01): CPU seconds per
  image, classes kept, and how many pixels' argmax differ between the two;
* the loop's worker pool: the same work item (at ``--pool-floor``) (``crf_on_kept``: decode the
  image, CRF the kept classes) fed at most ``2 x workers`` ahead, as
  ``CRFTestLoop`` does, on 1 process (in the parent, ``workers=0``) against
  ``--workers`` (default 2; goal >= 1.8x), alternating per repetition;

and extrapolates CPU-hours (CPU time of one core) for VOC val (1,449 images)
and COCO val2014 (40,137 images).

The softmax maps are **synthetic** (no trained stage-2 model exists here):
the GT of each image, average-pooled to DeepLab's stride 8, as logits (+10 on
the true class: 0.995 where it is alone among 81), plus a smooth noise field
(std 1) on every class and, for 3 random absent classes per image, +6 on the
objects (confusions); softmax, bilinear up to the image size. How many classes a real model puts above the
floor depends on its calibration: the CPU cost is linear in the kept count,
and the JSON gives the per-label cost to redo the estimate for another count.

    OMP_NUM_THREADS=1 python3 benchmarks/bench_test_crf.py [--quick] [--workers 2]
"""
import argparse
import json
import multiprocessing as mp
import os
import time
from collections import deque
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from common import REPO_ROOT, finish_machine_info, machine_info, markdown_table, write_result
from stage2_seg.crf import DEFAULT_PROB_FLOOR, crf_refine, kept_classes
from stage2_seg.crf_test_loop import crf_on_kept

SHARED = Path(os.environ.get('WSSS_SHARED_DATA', REPO_ROOT.parent / 'shared' / 'data' / 'real'))
TINYCOCO = SHARED / 'super-gradients' / 'tests' / 'data' / 'tinycoco'
VOCLIKE = SHARED / 'vainf-deeplabv3plus' / 'VOClike'
VOC_VAL, COCO_VAL = 1449, 40137
FLOORS = (0.01, 0.05)
CRF = dict(preset='deeplab')
# the synthetic maps (module docstring)
TRUE_LOGIT, NOISE_STD, CONFUSIONS, CONFUSION_LOGIT = 10.0, 1.0, 3, 6.0


def coco_scenes(count):
    """(image path, GT label map 0..80) of tinycoco's real COCO images."""
    from pycocotools.coco import COCO
    coco = COCO(str(TINYCOCO / 'annotations' / 'instances_train2017.json'))
    label_of = {cat: i + 1 for i, cat in enumerate(sorted(coco.getCatIds()))}
    scenes = []
    for image_id in sorted(coco.getImgIds()):
        info = coco.loadImgs(image_id)[0]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id, iscrowd=False))
        if not anns or info['width'] * info['height'] < 600 * 400:
            continue
        gt = np.zeros((info['height'], info['width']), np.int64)
        for ann in sorted(anns, key=lambda a: -a['area']):   # smaller on top
            gt[coco.annToMask(ann) > 0] = label_of[ann['category_id']]
        scenes.append((str(TINYCOCO / 'images' / 'train2017' / info['file_name']), gt))
        if len(scenes) == count:
            break
    return scenes, 81


def voc_scenes(count):
    scenes = []
    for path in sorted((VOCLIKE / 'JPEGImages').glob('*.png'))[:count]:
        gt = np.asarray(Image.open(VOCLIKE / 'SegmentationClass' / path.name)).astype(np.int64)
        scenes.append((str(path), np.where(gt == 255, 0, gt)))
    return scenes, 21


def synthetic_softmax(gt, num_classes, seed, stride=8):
    """DeepLab-like class probabilities for ``gt`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    height, width = gt.shape
    h, w = -(-height // stride), -(-width // stride)
    padded = np.zeros((h * stride, w * stride), np.int64)
    padded[:height, :width] = gt
    onehot = np.stack([padded == c for c in range(num_classes)]).astype(np.float32)
    pooled = onehot.reshape(num_classes, h, stride, w, stride).mean(axis=(2, 4))
    logits = TRUE_LOGIT * pooled
    noise = ndimage.gaussian_filter(rng.normal(0, 1, logits.shape), (0, 1.5, 1.5))
    logits += NOISE_STD * noise / noise.std()
    absent = np.setdiff1d(np.arange(1, num_classes), np.unique(gt))
    objects = 1 - pooled[0]
    for c in rng.choice(absent, min(CONFUSIONS, len(absent)), replace=False):
        logits[c] += CONFUSION_LOGIT * objects
    probs = np.exp(logits - logits.max(axis=0))
    probs /= probs.sum(axis=0)
    full = np.stack([np.asarray(Image.fromarray(p).resize((w * stride, h * stride),
                                                          Image.BILINEAR)) for p in probs])
    full = full[:, :height, :width]
    return (full / full.sum(axis=0)).astype(np.float32)


def floor_rows(scenes, num_classes, floors, full_images):
    """Per image and floor: CPU-s of the floored CRF and classes kept; on the
    first ``full_images`` also the full CRF and the pixels whose argmax differ."""
    from stage2_seg.crf import read_rgb
    rows = []
    for index, (path, gt) in enumerate(scenes):
        probs = synthetic_softmax(gt, num_classes, seed=index)
        image = read_rgb(path)
        row = {'image': Path(path).name, 'size': f'{gt.shape[1]}x{gt.shape[0]}',
               'gt_classes': int(len(np.unique(gt))), 'pixels': int(gt.size)}
        full = None
        if index < full_images:
            start = time.process_time()
            full = crf_refine(image, probs, dict(CRF, prob_floor=0)).argmax(0)
            row['cpu_s_full'] = round(time.process_time() - start, 3)
        for floor in floors:
            start = time.process_time()
            q = crf_refine(image, probs, dict(CRF, prob_floor=floor))
            row[f'cpu_s_floor_{floor}'] = round(time.process_time() - start, 3)
            row[f'kept_floor_{floor}'] = int(len(kept_classes(probs, floor)))
            if full is not None:
                row[f'pixels_differing_floor_{floor}'] = int((q.argmax(0) != full).sum())
        rows.append(row)
        print('  ', row, flush=True)
    return rows


def loop_jobs(scenes, num_classes, floor, count):
    """The loop's work items (image path, kept probabilities, CRF numbers)."""
    jobs = []
    for index in range(count):
        path, gt = scenes[index % len(scenes)]
        probs = synthetic_softmax(gt, num_classes, seed=index % len(scenes))
        kept = kept_classes(probs, floor)
        jobs.append((path, np.ascontiguousarray(probs[kept]), CRF))
    return jobs


def timed_job(*job):
    """``crf_on_kept`` and the CPU seconds of the process that ran it."""
    start = time.process_time()
    crf_on_kept(*job)
    return time.process_time() - start


def run_jobs(jobs, pool, workers):
    """(wall seconds, CPU seconds) of the jobs: here one after another (pool
    None), or fed to the pool at most 2 x workers ahead, results taken in
    order (as CRFTestLoop does). CPU / wall = the cores the run obtained."""
    start = time.perf_counter()
    cpu = 0.0
    if pool is None:
        for job in jobs:
            cpu += timed_job(*job)
    else:
        pending = deque()
        for job in jobs:
            pending.append(pool.apply_async(timed_job, job))
            while len(pending) >= 2 * workers or (pending and pending[0].ready()):
                cpu += pending.popleft().get()
        while pending:
            cpu += pending.popleft().get()
    return time.perf_counter() - start, cpu


def _spin(seconds):
    """Pure-Python CPU work for about ``seconds`` of CPU; returns its CPU time."""
    start = time.process_time()
    while time.process_time() - start < seconds:
        sum(i * i for i in range(10000))
    return time.process_time() - start


def control_cores(workers, seconds=2.0):
    """Cores the machine gives this run: CPU / wall of 2 x workers spins of
    ``seconds`` each, one after another and on ``workers`` processes. On a
    machine with spare cores the second is ~workers; when other jobs (or a
    CPU limit) leave less, no pool can be faster than this."""
    start = time.perf_counter()
    cpu = sum(_spin(seconds) for _ in range(2 * workers))
    single = cpu / (time.perf_counter() - start)
    with mp.get_context('fork').Pool(workers) as pool:
        start = time.perf_counter()
        cpu = sum(pool.map(_spin, [seconds] * (2 * workers), chunksize=1))
        parallel = cpu / (time.perf_counter() - start)
    return {'one_process': round(single, 2), f'{workers}_processes': round(parallel, 2)}


def pool_speedup(jobs, workers, repeats):
    ctx = mp.get_context('fork')
    times = {'1 (in process)': [], f'{workers} workers': []}
    cores = {key: [] for key in times}
    with ctx.Pool(workers) as pool:
        pool.map(int, range(workers))   # workers started
        for rep in range(repeats):
            order = (None, pool) if rep % 2 == 0 else (pool, None)
            for which in order:
                key = '1 (in process)' if which is None else f'{workers} workers'
                wall, cpu = run_jobs(jobs, which, workers)
                times[key].append(wall)
                cores[key].append(cpu / wall)
                print(f'   {key}: {wall:.1f} s for {len(jobs)} images, '
                      f'{cpu / wall:.2f} cores busy', flush=True)
    ratios = [a / b for a, b in zip(times['1 (in process)'], times[f'{workers} workers'])]
    return {'images': len(jobs), 'repeats': repeats,
            'wall_s': {k: [round(v, 2) for v in vs] for k, vs in times.items()},
            'cores_obtained': {k: [round(v, 2) for v in vs] for k, vs in cores.items()},
            'speedup': round(float(np.median(ratios)), 3),
            'speedups': [round(r, 3) for r in ratios]}


def summarise(rows, count, floors, labels):
    """Means over the images, CPU-hours for a split of ``count`` images."""
    full_rows = [r for r in rows if 'cpu_s_full' in r]
    cpu_full = float(np.mean([r['cpu_s_full'] for r in full_rows]))
    out = {'images_measured': len(rows), 'full_crf_images': len(full_rows),
           'labels_full': labels, 'split_images': count,
           'mean_gt_classes': round(float(np.mean([r['gt_classes'] for r in rows])), 2),
           'cpu_s_per_image_full': round(cpu_full, 3),
           'cpu_s_per_label_full': round(cpu_full / labels, 4),
           'cpu_hours_full': round(cpu_full * count / 3600, 2), 'floors': {}}
    for floor in floors:
        cpu = float(np.mean([r[f'cpu_s_floor_{floor}'] for r in rows]))
        same = float(np.mean([r[f'cpu_s_floor_{floor}'] for r in full_rows]))
        out['floors'][str(floor)] = {
            'mean_kept_classes': round(float(np.mean([r[f'kept_floor_{floor}'] for r in rows])), 2),
            'cpu_s_per_image': round(cpu, 3),
            'full_over_floor_cpu': round(cpu_full / same, 2),
            'cpu_hours': round(cpu * count / 3600, 2),
            'pixels_differing_share': sum(r[f'pixels_differing_floor_{floor}'] for r in full_rows)
            / sum(r['pixels'] for r in full_rows),
            'images_identical_to_full': sum(r[f'pixels_differing_floor_{floor}'] == 0
                                            for r in full_rows)}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true', help='few images, 1 repetition')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=None, help='default 3 (quick 1)')
    parser.add_argument('--floor', type=float, default=DEFAULT_PROB_FLOOR)
    parser.add_argument('--pool-floor', type=float, default=0.05,
                        help='floor of the pool measurement\'s jobs (default 0.05: about 10 '
                             'classes per COCO image, so repetitions fit a busy 2-core machine; '
                             'the speed-up is a ratio of the same jobs)')
    parser.add_argument('--pool-images', type=int, default=None, help='default 16 (quick 8)')
    parser.add_argument('--images', type=int, default=None,
                        help='images per dataset for the floor measurement (default 8, quick 4)')
    parser.add_argument('--full-coco', type=int, default=None,
                        help='COCO images that also get the full 81-class CRF (default 4, quick 2)')
    parser.add_argument('--out', default=None)
    args = parser.parse_args()
    if not TINYCOCO.is_dir() or not VOCLIKE.is_dir():
        raise SystemExit(f'needs the real samples in {SHARED}')
    repeats = args.repeats or (1 if args.quick else 3)
    machine = machine_info()
    images = args.images or (4 if args.quick else 8)
    coco, coco_classes = coco_scenes(images)
    voc, voc_classes = voc_scenes(images)
    print(f'COCO: {len(coco)} images; VOC: {len(voc)}; floor {args.floor}')
    floors = sorted({args.floor, *FLOORS})
    print('VOC (21 classes), floor vs full CRF:')
    voc_rows = floor_rows(voc, voc_classes, floors, full_images=len(voc))
    print('COCO (81 classes), floor vs full CRF:')
    coco_rows = floor_rows(coco, coco_classes, floors,
                           full_images=args.full_coco or (2 if args.quick else 4))
    voc_sum = summarise(voc_rows, VOC_VAL, floors, voc_classes)
    coco_sum = summarise(coco_rows, COCO_VAL, floors, coco_classes)
    print(f'pool ({args.workers} workers) vs in process, COCO CRF jobs at floor '
          f'{args.pool_floor}:')
    jobs = loop_jobs(coco, coco_classes, args.pool_floor,
                     args.pool_images or (8 if args.quick else 16))
    control_before = control_cores(args.workers)
    print(f'   cores obtained by pure-Python spins: {control_before}', flush=True)
    pool = pool_speedup(jobs, args.workers, repeats)
    pool['control_cores'] = {'before': control_before, 'after': control_cores(args.workers)}
    print(f'   after: {pool["control_cores"]["after"]}', flush=True)
    table = markdown_table(
        ['split', 'images', 'CRF', 'classes in the CRF', 'CPU s/img', 'CPU-hours',
         'argmax pixels changed vs full'],
        [row for name, s in (('VOC val', voc_sum), ('COCO val2014', coco_sum)) for row in
         [[name, s['split_images'], 'all classes', s['labels_full'], s['cpu_s_per_image_full'],
           s['cpu_hours_full'], '-']]
         + [[name, s['split_images'], f'floor {floor}', f['mean_kept_classes'],
             f['cpu_s_per_image'], f['cpu_hours'], f"{100 * f['pixels_differing_share']:.4f}%"]
            for floor, f in s['floors'].items()]])
    table += '\n' + markdown_table(
        ['CRF processes', 'images', 'wall s (median)', 'cores obtained (CPU s / wall s)',
         'speed-up vs in process'],
        [[k, pool['images'], round(float(np.median(v)), 2),
          round(float(np.median(pool['cores_obtained'][k])), 2),
          pool['speedup'] if 'workers' in k else 1.0] for k, v in pool['wall_s'].items()])
    result = {
        'benchmark': 'stage-2 test CRF: probability floor and worker pool (CRFTestLoop)',
        'quick': args.quick,
        'settings': {'workers': args.workers, 'repeats': repeats, 'prob_floor': args.floor,
                     'pool_jobs_floor': args.pool_floor, 'images': images,
                     'crf': 'deeplab preset (10 mean-field iterations)',
                     'maps': 'synthetic softmax from real GT (module docstring)',
                     'coco_images': str(TINYCOCO), 'voc_images': str(VOCLIKE)},
        'voc_val': voc_sum, 'coco_val': coco_sum,
        'voc_rows': voc_rows, 'coco_rows': coco_rows,
        'pool': pool,
        'goals': {f'speedup_{args.workers}_workers_ge_1.8': pool['speedup'] >= 1.8,
                  'speedup': pool['speedup'],
                  'note': 'a speed-up is only measurable when control_cores shows the '
                          'machine giving this run about as many cores as workers'},
        'table': table,
        'machine': finish_machine_info(machine),
    }
    path = write_result('test_crf', result, args.out)
    print()
    print(table)
    print(json.dumps(result['goals']))
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
