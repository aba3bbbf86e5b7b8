"""Memory of the pseudo-label step over a long split, and the size of its outputs.

Runs ``stage1_cam.pseudo_labels.make_pseudo_labels`` (BAS, MobileNetV2 from
the demo config, ``--save-cams``, CRF in a worker pool) over a demo split of
2,000 images (``--quick``: 200) in a fresh process, sampling its memory
against the number of images done: the parent's RSS (it holds the model)
and the PSS of the parent plus its CRF workers (PSS splits the pages a
forked worker shares with the parent, so the sum counts them once). The
goal is memory flat in the number of images: the growth from the first
quarter of the split to the end is reported in MiB and per 1,000 images
(least-squares slope). Also reported:
peak RSS of the parent and of the largest worker, bytes per image of the
saved maps (``cams/<id>.npz``, float16, compressed) and labels, and the
throughput of the whole step with 0, 1 and 2 CRF workers on a short prefix.

    OMP_NUM_THREADS=1 python3 benchmarks/bench_memory.py [--quick]

The demo split is generated once into ``work_dirs/bench/demo_<N>`` (about
0.1-0.2 s an image); outputs go to ``work_dirs/bench/memory_*`` and are
replaced on every run.
"""
import argparse
import json
import os
import shutil
import threading
import time
from pathlib import Path

from common import (REPO_ROOT, children_peak_rss_mib, current_rss_mib,
                    finish_machine_info, machine_info, markdown_table, peak_rss_mib, pss_mib,
                    run_child, write_result)

CONFIG = 'configs/stage1/bas_mobilenetv2_demo.py'
BENCH_DIR = REPO_ROOT / 'work_dirs' / 'bench'


def demo_split(num_images):
    """A demo dataset with ``num_images`` train images (generated once)."""
    from stage1_cam.datasets.demo import generate_demo_dataset, is_demo_folder
    from wsss_core.io import read_json
    root = BENCH_DIR / f'demo_{num_images}'
    if not (is_demo_folder(root) and read_json(root / 'meta.json')['num_train'] == num_images):
        print(f'generating {num_images} demo images into {root} ...', flush=True)
        generate_demo_dataset(root, seed=0, num_train=num_images, num_val=0)
    return root


def build_model():
    import torch
    from mmengine.config import Config

    from stage1_cam.models import build_model as build
    cfg = Config.fromfile(str(REPO_ROOT / CONFIG))
    torch.manual_seed(0)
    return build(cfg.model).eval(), cfg


def _children_pss(pid):
    """Summed PSS (MiB) of ``pid``'s child processes (the CRF workers)."""
    total = 0.0
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as f:
            kids = f.read().split()
    except OSError:
        return None
    for kid in kids:
        total += pss_mib(kid) or 0.0
    return round(total, 1)


def child_run(args):
    """Fresh process: one make_pseudo_labels run, memory sampled in a thread."""
    from stage1_cam.datasets.classification import build_source
    from stage1_cam.pseudo_labels import make_pseudo_labels

    root = demo_split(args.num_images)
    model, cfg = build_model()
    source = build_source(dict(type='Demo', data_root=str(root), split='train'))
    if args.limit:
        source.ids = list(source.ids)[:args.limit]  # a prefix, for the throughput runs
    out_dir = Path(args.out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    samples, stop = [], threading.Event()
    labels_dir = out_dir / 'labels'

    def sample():
        pid = os.getpid()
        while not stop.is_set():
            done = sum(1 for name in os.listdir(labels_dir) if name.endswith('.png')) \
                if labels_dir.is_dir() else 0
            samples.append((done, current_rss_mib(), pss_mib(), _children_pss(pid)))
            stop.wait(args.interval)

    thread = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    thread.start()
    manifest = make_pseudo_labels(
        model, source, out_dir, {'benchmark': 'bench_memory'}, map_kind='bas',
        scales=cfg.pseudo_label.get('scales'), refine_cfg=cfg.pseudo_label.get('refine'),
        workers=args.workers, save_cams=not args.limit, progress=False)
    wall = time.perf_counter() - started
    stop.set()
    thread.join()
    result = {'images': len(source.ids), 'workers': args.workers, 'wall_s': round(wall, 1),
              'images_per_second': round(len(source.ids) / wall, 3),
              'num_done': manifest['num_done'], 'num_failed': manifest['num_failed'],
              'parent_peak_rss_mib': peak_rss_mib(),
              'largest_worker_peak_rss_mib': children_peak_rss_mib(), 'samples': samples}
    if not args.limit:
        cams = list((out_dir / 'cams').glob('*.npz'))
        labels = list(labels_dir.glob('*.png'))
        result['bytes_per_image'] = {
            'cams_npz': round(sum(p.stat().st_size for p in cams) / max(1, len(cams))),
            'label_png': round(sum(p.stat().st_size for p in labels) / max(1, len(labels))),
            'image_pixels': 128 * 128, 'cams_files': len(cams)}
        # float16 is 2 bytes per pixel and class before compression
        result['bytes_per_image']['cams_bytes_per_pixel'] = round(
            result['bytes_per_image']['cams_npz'] / (128 * 128), 3)
    print(json.dumps(result))


def flatness(samples, images):
    """RSS at fractions of the split and the growth after the first quarter."""
    import numpy as np
    rows = [(d, (pss or rss) + (c or 0.0), rss, c) for d, rss, pss, c in samples
            if rss is not None and d > 0]
    if any(r[3] for r in rows):  # a pool ran: drop samples taken after it shut down
        rows = [r for r in rows if r[3]]
    if not rows:
        return {}
    done = np.array([r[0] for r in rows], float)
    total = np.array([r[1] for r in rows], float)
    parent = np.array([r[2] for r in rows], float)

    def at(fraction):
        index = int(np.argmin(np.abs(done - fraction * images)))
        return {'images_done': int(done[index]), 'total_pss_mib': round(total[index], 1),
                'parent_rss_mib': round(parent[index], 1)}
    after = done >= images / 4
    slope = float(np.polyfit(done[after], total[after], 1)[0]) * 1000 if after.sum() > 2 else None
    return {'at': {f'{int(f * 100)}%': at(f) for f in (0.1, 0.25, 0.5, 0.75, 1.0)},
            'growth_after_first_quarter_mib': round(float(total[after][-1] - total[after][0]), 1)
            if after.any() else None,
            'parent_rss_growth_after_first_quarter_mib':
                round(float(parent[after][-1] - parent[after][0]), 1) if after.any() else None,
            'slope_mib_per_1000_images': round(slope, 2) if slope is not None else None,
            'max_total_pss_mib': round(float(total.max()), 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true', help='200 images instead of 2,000')
    parser.add_argument('--images', type=int, default=None)
    parser.add_argument('--workers', type=int, default=2, help='CRF workers of the long run')
    parser.add_argument('--throughput-images', type=int, default=None,
                        help='prefix for the 0/1/2-worker throughput runs (default 100, quick 20)')
    parser.add_argument('--out', default=None)
    # internal: one run in a fresh process
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--num-images', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--limit', type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument('--out-dir', help=argparse.SUPPRESS)
    parser.add_argument('--interval', type=float, default=0.5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_run(args)

    import torch
    machine = machine_info()
    images = args.images or (200 if args.quick else 2000)
    prefix = args.throughput_images or (20 if args.quick else 100)
    demo_split(images)  # generated here, so no child times it

    print(f'make_pseudo_labels over {images} demo images, {args.workers} CRF workers ...',
          flush=True)
    run = run_child([__file__, '--child', '--num-images', images, '--workers', args.workers,
                     '--out-dir', BENCH_DIR / 'memory_long'])
    run['flatness'] = flatness(run.pop('samples'), images)
    print(json.dumps(run['flatness'], indent=1), flush=True)

    throughput = []
    for workers in (0, 1, 2):
        print(f'throughput: {prefix} images, {workers} CRF workers ...', flush=True)
        row = run_child([__file__, '--child', '--num-images', images, '--workers', workers,
                         '--limit', prefix, '--out-dir', BENCH_DIR / f'memory_w{workers}'])
        row.pop('samples')
        throughput.append(row)

    flat = run['flatness']
    growth = flat.get('growth_after_first_quarter_mib')
    goal_flat = growth is not None and growth <= max(20.0, 0.02 * flat['max_total_pss_mib'])
    table = markdown_table(
        ['images done', 'RSS parent MiB', 'PSS parent + workers MiB'],
        [[v['images_done'], v['parent_rss_mib'], v['total_pss_mib']]
         for v in flat.get('at', {}).values()])
    table += '\n' + markdown_table(
        ['quantity', 'value'],
        [['growth of PSS (parent + workers) after the first quarter (MiB)', growth],
         ['slope of that PSS (MiB per 1,000 images)', flat.get('slope_mib_per_1000_images')],
         ['growth of the parent RSS after the first quarter (MiB)',
          flat.get('parent_rss_growth_after_first_quarter_mib')],
         ['peak RSS parent (MiB)', run['parent_peak_rss_mib']],
         ['peak RSS largest worker (MiB)', run['largest_worker_peak_rss_mib']],
         ['saved maps, bytes per image (128x128, 1-3 classes)',
          run['bytes_per_image']['cams_npz']],
         ['saved maps, bytes per pixel (x 187,500 for a 500x375 image)',
          run['bytes_per_image']['cams_bytes_per_pixel']],
         ['label PNG, bytes per image', run['bytes_per_image']['label_png']],
         ['long run img/s', run['images_per_second']]])
    table += '\n' + markdown_table(
        ['CRF workers', 'images', 'img/s (maps + CRF + writes)'],
        [[r['workers'], r['images'], r['images_per_second']] for r in throughput])
    result = {'benchmark': 'pseudo-label step memory and output size', 'quick': args.quick,
              'config': CONFIG, 'images': images, 'workers': args.workers,
              'torch_threads': torch.get_num_threads(), 'long_run': run,
              'throughput': throughput, 'goals': {'memory_flat': goal_flat},
              'table': table, 'machine': finish_machine_info(machine)}
    path = write_result('memory', result, args.out)
    print()
    print(table)
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
