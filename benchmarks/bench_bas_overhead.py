"""BAS training overhead over CAM, and our frozen background branch against a
per-step ``copy.deepcopy`` of the later stage (the reference's way).

For each backbone (MobileNetV2 with the offline ImageNet weights, ResNet-50
with random init: no ResNet weights offline) three models are built from the
stage-1 configs with the same seed:

* ``cam``: CAMClassifier (configs/stage1/cam_*.py);
* ``bas``: BASClassifier (configs/stage1/bas_*.py), background branch through
  the current weights, detached (``run_frozen``: ``torch.func.functional_call``);
* ``bas_deepcopy``: the same BASClassifier whose background branch deep-copies
  ``backbone.later`` and ``classifier`` every step, freezes the copies'
  parameters and runs the erased features through them, as BAS's reference
  code does (train mode: its copies' BatchNorm uses batch statistics, which
  is what ours computes too; the losses of both are checked to be equal).

A step is mmengine's ``model.train_step`` (preprocess, loss, backward, SGD
update), what the Runner calls. Time per step: median over repetitions
interleaved within one process; ratios are medians of per-repetition
ratios. Peak memory: each variant in a fresh process; after one warm-up step the
memory held between steps is read and the peak mark reset (CPU: VmHWM via
``/proc/self/clear_refs``; ``--device cuda``: ``torch.cuda.max_memory_allocated``),
then the peak of a few more steps above it is what a step adds.

    OMP_NUM_THREADS=1 python3 benchmarks/bench_bas_overhead.py [--quick] [--device cuda]

Goals: bas <= 1.35x cam; bas faster than bas_deepcopy, with less memory.
"""
import argparse
import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (REPO_ROOT, current_rss_mib, finish_machine_info, interleaved,  # noqa: E402
                    machine_info, markdown_table, paired_ratio, peak_rss_mib, reset_peak_rss,
                    run_child, summary, write_result)

CONFIGS = {
    'mobilenet_v2': {'cam': 'configs/stage1/cam_mobilenetv2_demo.py',
                     'bas': 'configs/stage1/bas_mobilenetv2_demo.py'},
    'resnet50': {'cam': 'configs/stage1/cam_resnet50_voc.py',
                 'bas': 'configs/stage1/bas_resnet50_voc.py'},
}
VARIANTS = ('cam', 'bas', 'bas_deepcopy')
# Full runs: the demo's MobileNetV2 batch; ResNet-50 at a CPU-sized crop.
# glibc: serve blocks >= 64 KiB by mmap and give them back on free, so the RSS
# of the memory children follows the live tensors instead of malloc's caches.
MALLOC_ENV = {'MALLOC_MMAP_THRESHOLD_': '65536', 'MALLOC_TRIM_THRESHOLD_': '65536'}
FULL = {'mobilenet_v2': dict(batch=16, size=128), 'resnet50': dict(batch=8, size=224)}
QUICK = {'mobilenet_v2': dict(batch=4, size=96), 'resnet50': dict(batch=2, size=96)}


def deepcopy_background_class_maps(self, tap_features, foreground_map):
    """The reference's background branch: fresh frozen copies every step."""
    later = copy.deepcopy(self.backbone.later)
    classifier = copy.deepcopy(self.classifier)
    for param in list(later.parameters()) + list(classifier.parameters()):
        param.requires_grad_(False)
    erased = tap_features.detach() * (1.0 - foreground_map)
    return classifier(later(erased))


def build(backbone, variant, device, seed=0):
    """The variant's model (built from its config) and an SGD OptimWrapper."""
    import torch
    from mmengine.config import Config
    from mmengine.optim import OptimWrapper

    from stage1_cam.registry import build_model

    cfg = Config.fromfile(str(REPO_ROOT / CONFIGS[backbone]['cam' if variant == 'cam' else 'bas']))
    model_cfg = cfg.model.copy()
    # ResNet-50: no ImageNet weights offline; timing does not depend on them.
    pretrained = True if backbone == 'mobilenet_v2' else False
    model_cfg['backbone'] = dict(model_cfg['backbone'], pretrained=pretrained)
    torch.manual_seed(seed)
    model = build_model(model_cfg)
    if variant == 'bas_deepcopy':
        model.background_class_maps = deepcopy_background_class_maps.__get__(model)
    model.to(device).train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9))
    return model, optim


def make_batch(num_classes, batch, size, device, seed=0):
    """uint8 images and multi-hot labels with 1-3 positives per image."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (batch, 3, size, size), generator=gen, dtype=torch.uint8)
    labels = torch.zeros(batch, num_classes)
    for i in range(batch):
        count = int(torch.randint(1, 4, (1,), generator=gen))
        labels[i, torch.randperm(num_classes, generator=gen)[:count]] = 1
    return {'inputs': images.to(device), 'data_samples': {'labels': labels.to(device)}}


def step_fn(model, optim, data, device):
    import torch

    def step():
        model.train_step(data, optim)
        if str(device).startswith('cuda'):
            torch.cuda.synchronize()
    return step


def check_same_losses(backbone, batch, size, device):
    """ours and the deepcopy reference give the same losses on the same batch."""
    import torch
    values = {}
    for variant in ('bas', 'bas_deepcopy'):
        model, _ = build(backbone, variant, device)
        data = make_batch(model.num_classes, batch, size, device)
        torch.manual_seed(1)  # the random class each image picks
        processed = model.data_preprocessor(data, True)
        losses = model(processed['inputs'], processed['data_samples'], mode='loss')
        values[variant] = {k: float(v) for k, v in losses.items()}
    diff = max(abs(values['bas'][k] - values['bas_deepcopy'][k]) for k in values['bas'])
    if diff > 1e-4:
        raise AssertionError(f'bas and bas_deepcopy disagree: {values}')
    return round(diff, 8)


def time_backbone(backbone, batch, size, repeats, device):
    models = {v: build(backbone, v, device) for v in VARIANTS}
    num_classes = models['cam'][0].num_classes
    data = make_batch(num_classes, batch, size, device)
    steps = {v: step_fn(model, optim, data, device) for v, (model, optim) in models.items()}
    times = interleaved(steps, repeats, warmup=1)
    return {
        'steps': {v: summary(t) for v, t in times.items()},
        'bas_over_cam': paired_ratio(times['bas'], times['cam']),
        'deepcopy_over_bas': paired_ratio(times['bas_deepcopy'], times['bas']),
        'deepcopy_over_cam': paired_ratio(times['bas_deepcopy'], times['cam']),
    }


def child_memory(args):
    """Fresh process: memory a training step adds over what is held between steps.

    Two numbers: ``forward_mib``, held once the losses are computed (the
    autograd graph, with everything saved for backward: the deepcopy's
    weights among it), and ``step_peak_mib``, the peak over the whole step
    (backward and update included). CPU: RSS, with glibc told to return
    large blocks at once (MALLOC_MMAP_THRESHOLD_, set by the parent) so RSS
    follows the live tensors, and the peak mark reset; CUDA: allocator stats.
    """
    import torch
    device = args.device
    cuda = device.startswith('cuda')

    def now():
        return torch.cuda.memory_allocated() / 2 ** 20 if cuda else current_rss_mib()

    model, optim = build(args.backbone, args.variant, device)
    data = make_batch(model.num_classes, args.batch, args.size, device)
    model.train_step(data, optim)  # optimizer state exists from the first step on
    forward, peak = [], []
    for _ in range(args.steps):
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        else:
            reset_peak_rss()
        base = now()
        # what BaseModel.train_step does, with a reading between forward and backward
        processed = model.data_preprocessor(data, True)
        losses = model(**processed, mode='loss')
        forward.append(now() - base)
        loss, _ = model.parse_losses(losses)
        optim.update_params(loss)
        del losses, loss
        peak.append((torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else peak_rss_mib())
                    - base)
    print(json.dumps({'variant': args.variant, 'backbone': args.backbone,
                      'measure': 'cuda memory_allocated' if cuda
                      else 'RSS (VmRSS, VmHWM after a reset)',
                      'held_between_steps_mib': round(now(), 1),
                      'forward_mib': round(max(forward), 1),
                      'step_peak_mib': round(max(peak), 1)}))


def memory_backbone(backbone, batch, size, steps, device):
    rows = {}
    for variant in VARIANTS:
        rows[variant] = run_child([__file__, '--child-memory', '--backbone', backbone,
                                   '--variant', variant, '--batch', batch, '--size', size,
                                   '--steps', steps, '--device', device], env=MALLOC_ENV)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true', help='small batches, few repetitions')
    parser.add_argument('--backbones', default='mobilenet_v2,resnet50')
    parser.add_argument('--repeats', type=int, default=None,
                        help='interleaved repetitions (default 12, quick 4)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', default=None)
    # internal: one memory measurement in a fresh process
    parser.add_argument('--child-memory', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--backbone', help=argparse.SUPPRESS)
    parser.add_argument('--variant', help=argparse.SUPPRESS)
    parser.add_argument('--batch', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--size', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--steps', type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        return child_memory(args)

    import torch
    machine = machine_info(args.device)
    shapes = QUICK if args.quick else FULL
    repeats = args.repeats or (4 if args.quick else 12)
    memory_steps = 2 if args.quick else 3
    results = {}
    for backbone in args.backbones.split(','):
        shape = shapes[backbone]
        print(f'{backbone}: batch {shape["batch"]} x {shape["size"]}px, {repeats} interleaved '
              f'repetitions on {args.device}', flush=True)
        entry = {**shape, 'pretrained': backbone == 'mobilenet_v2'}
        entry['losses_max_abs_diff_bas_vs_deepcopy'] = check_same_losses(
            backbone, min(shape['batch'], 4), shape['size'], args.device)
        entry.update(time_backbone(backbone, shape['batch'], shape['size'], repeats, args.device))
        entry['memory'] = memory_backbone(backbone, shape['batch'], shape['size'],
                                          memory_steps, args.device)
        results[backbone] = entry
        print(json.dumps(entry, indent=1), flush=True)

    rows = []
    for backbone, e in results.items():
        for v in VARIANTS:
            m = e['memory'][v]
            rows.append([backbone, f'{e["batch"]}x{e["size"]}', v,
                         f'{1000 * e["steps"][v]["median_s"]:.0f}',
                         {'cam': '1.00', 'bas': f'{e["bas_over_cam"]:.2f}',
                          'bas_deepcopy': f'{e["deepcopy_over_cam"]:.2f}'}[v],
                         m['forward_mib'], m['step_peak_mib']])
    mem_name = 'GPU' if args.device.startswith('cuda') else 'RSS'
    table = markdown_table(['backbone', 'batch', 'variant', 'ms/step (median)', 'x cam',
                            f'{mem_name} MiB after forward', f'{mem_name} MiB step peak'], rows)
    goals = {b: {'bas_le_1.35x_cam': e['bas_over_cam'] <= 1.35,
                 'bas_faster_than_deepcopy': e['deepcopy_over_bas'] > 1.0,
                 'bas_less_memory_than_deepcopy':
                     e['memory']['bas']['forward_mib'] < e['memory']['bas_deepcopy']['forward_mib']
                     and e['memory']['bas']['step_peak_mib']
                     <= e['memory']['bas_deepcopy']['step_peak_mib']}
             for b, e in results.items()}
    result = {'benchmark': 'BAS training-step overhead', 'quick': args.quick,
              'torch_threads': torch.get_num_threads(), 'repeats': repeats,
              'results': results, 'goals': goals, 'table': table,
              'machine': finish_machine_info(machine)}
    path = write_result('bas_overhead', result, args.out)
    print()
    print(table)
    print('goals:', json.dumps(goals))
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
