"""Activation-map inference: images/second of multi-scale + flip maps
(``stage1_cam.maps.multiscale_maps``, scales 1.0, 0.5, 1.5, 2.0 and their
flips: 8 views per image), each scale's image + flip in one batch (the
default) against one view at a time (``batch_views=False``).

Models come from the stage-1 configs: BAS on MobileNetV2 (offline ImageNet
weights; the demo config) and BAS on ResNet-50 (random init; the VOC
config). Timing does not depend on trained weights. Image sizes: the demo's
128x128 and VOC's typical 500x375. Both paths run on the same images,
interleaved, and their maps are compared (max abs difference). Each runs
twice, in fresh processes: with ``stage1_cam.allocator.keep_freed_memory``
(as make_pseudo_labels runs the model) and with glibc's default allocator
settings, under which every activation above 32 MiB is a fresh mmap.

    OMP_NUM_THREADS=1 python3 benchmarks/bench_maps.py [--quick] [--device cuda]
"""
import argparse
import json
import sys
import time

from common import (REPO_ROOT, finish_machine_info, interleaved, machine_info,
                    markdown_table, paired_ratio, run_child, summary, write_result)

CONFIGS = {'mobilenet_v2': 'configs/stage1/bas_mobilenetv2_demo.py',
           'resnet50': 'configs/stage1/bas_resnet50_voc.py'}
# (backbone, height, width, images)
FULL = [('mobilenet_v2', 128, 128, 16), ('mobilenet_v2', 375, 500, 4), ('resnet50', 375, 500, 2)]
QUICK = [('mobilenet_v2', 128, 128, 4), ('mobilenet_v2', 375, 500, 1)]
ALLOCATORS = ('keep_freed', 'default')


def build(backbone, device):
    import torch
    from mmengine.config import Config

    from stage1_cam.models import build_model
    cfg = Config.fromfile(str(REPO_ROOT / CONFIGS[backbone]))
    model_cfg = cfg.model.copy()
    model_cfg['backbone'] = dict(model_cfg['backbone'], pretrained=backbone == 'mobilenet_v2')
    torch.manual_seed(0)
    return build_model(model_cfg).to(device).eval()


def images_of(height, width, count, seed=0):
    """Smooth random RGB images (content does not change the timing)."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        out.append(np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC)))
    return out


def measure(backbone, height, width, count, device, repeats):
    import numpy as np
    import torch

    from stage1_cam.maps import multiscale_maps

    model = build(backbone, device)
    images = images_of(height, width, count)
    classes = [1, 2]
    cuda = str(device).startswith('cuda')

    cpu = {'batched': [], 'per_view': []}

    def run(batch_views):
        def go():
            start = time.process_time()
            for image in images:
                multiscale_maps(model, image, classes, kind='bas', batch_views=batch_views)
            if cuda:
                torch.cuda.synchronize()
            cpu['batched' if batch_views else 'per_view'].append(time.process_time() - start)
        return go

    diff = max(float(np.abs(multiscale_maps(model, image, classes, batch_views=True)
                            - multiscale_maps(model, image, classes, batch_views=False)).max())
               for image in images[:2])
    times = interleaved({'batched': run(True), 'per_view': run(False)}, repeats, warmup=1)
    per_image = {k: [t / count for t in v] for k, v in times.items()}
    rates = {k: {**summary(v), 'images_per_second': round(1 / summary(v)['median_s'], 3)}
             for k, v in per_image.items()}
    # CPU seconds of this process (warm-up dropped): less inflated by other jobs than wall time.
    cpu = {k: [t / count for t in v[1:]] for k, v in cpu.items()}
    for k in rates:
        rates[k]['cpu_s_per_image'] = round(float(np.median(cpu[k])), 4)
    return {'backbone': backbone, 'size': f'{width}x{height}', 'images': count,
            'views_per_image': 8, 'batched': rates['batched'], 'per_view': rates['per_view'],
            'speedup_batched': paired_ratio(per_image['per_view'], per_image['batched']),
            'speedup_batched_cpu_time': paired_ratio(cpu['per_view'], cpu['batched']),
            'max_abs_diff': diff}


def child(args):
    """All rows under one allocator setting, in this (fresh) process."""
    from stage1_cam.allocator import keep_freed_memory
    if args.allocator == 'keep_freed':
        keep_freed_memory()
    rows = []
    for backbone, height, width, count in (QUICK if args.quick else FULL):
        started = time.perf_counter()
        row = measure(backbone, height, width, count, args.device, args.repeats)
        row.update(allocator=args.allocator, wall_s=round(time.perf_counter() - started, 1))
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    print(json.dumps(rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--repeats', type=int, default=None, help='default 3, quick 2')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', default=None)
    parser.add_argument('--allocator', choices=ALLOCATORS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.repeats = args.repeats or (2 if args.quick else 3)
    if args.allocator:
        return child(args)

    import torch
    machine = machine_info(args.device)
    rows = []
    for allocator in ALLOCATORS:
        print(f'allocator {allocator} (fresh process) ...', flush=True)
        rows += run_child([__file__, '--allocator', allocator, '--repeats', args.repeats,
                           '--device', args.device] + (['--quick'] if args.quick else []))
    table = markdown_table(
        ['backbone', 'image', 'allocator', 'batched img/s', 'one view at a time img/s',
         'batched speed-up (wall)', 'CPU s/img batched / one view', 'speed-up (CPU time)',
         'max |diff|'],
        [[r['backbone'], r['size'], r['allocator'], r['batched']['images_per_second'],
          r['per_view']['images_per_second'], f'{r["speedup_batched"]:.2f}x',
          f'{r["batched"]["cpu_s_per_image"]} / {r["per_view"]["cpu_s_per_image"]}',
          f'{r["speedup_batched_cpu_time"]:.2f}x', f'{r["max_abs_diff"]:.1e}'] for r in rows])
    result = {'benchmark': 'multi-scale + flip activation maps', 'quick': args.quick,
              'scales': [1.0, 0.5, 1.5, 2.0], 'flip': True, 'map_kind': 'bas',
              'allocators': {'keep_freed': 'stage1_cam.allocator.keep_freed_memory() (what '
                                           'make_pseudo_labels uses)',
                             'default': "glibc's default thresholds"},
              'torch_threads': torch.get_num_threads(), 'repeats': args.repeats, 'rows': rows,
              'table': table, 'machine': finish_machine_info(machine)}
    path = write_result('maps', result, args.out)
    print()
    print(table)
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
