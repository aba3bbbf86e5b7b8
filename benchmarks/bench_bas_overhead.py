"""BAS training overhead over CAM, and our frozen background branch against a
per-step ``copy.deepcopy`` of the later stage (the reference's way).

For each backbone (MobileNetV2 with the offline ImageNet weights, ResNet-50
with random init: no ResNet weights offline) these models are built from the
stage-1 configs with the same seed:

* ``cam``: CAMClassifier (configs/stage1/cam_*.py);
* ``bas``: BASClassifier (configs/stage1/bas_*.py), background branch through
  the current weights, taken out of the graph (``run_frozen``: ``requires_grad``
  switched off for the pass);
* ``bas_deepcopy``: the same BASClassifier whose background branch
  deep-copies ``backbone.later`` and ``classifier`` every step and runs the
  erased features through the copies, as BAS's reference code does: the
  copies are "frozen" only by not being in the optimizer, so their parameters
  keep ``requires_grad`` (``copy.deepcopy`` keeps it) and backward computes
  their weight gradients, which are thrown away with the copies;
* ``bas_deepcopy_frozen``: the per-step copy at its cheapest, its parameters
  switched off after copying (no weight gradients): what remains is the copy.

All three run the background branch in the config's ``background_dtype``
(the demo's ``'auto'``: bfloat16 on hardware that has it); where that is not
float32, ``bas_float32`` (ours in float32) is timed too.

In train mode the copies' BatchNorm uses batch statistics, which is what ours
computes too; the losses of all three are checked to be equal. The copy
alone is timed too (``deepcopy_ms``).

A step is mmengine's ``model.train_step`` (preprocess, loss, backward, SGD
update), what the Runner calls. Time per step: median over repetitions
interleaved within one process; ratios are medians of per-repetition
ratios. Peak memory: each variant in a fresh process; after one warm-up step the
memory held between steps is read and the peak mark reset (CPU: VmHWM via
``/proc/self/clear_refs``; ``--device cuda``: ``torch.cuda.max_memory_allocated``),
then the peak of a few more steps above it is what a step adds.

    OMP_NUM_THREADS=1 python3 benchmarks/bench_bas_overhead.py [--quick] [--device cuda]

Goals: bas <= 1.35x cam; bas faster than bas_deepcopy (the reference's way), with
less memory.
"""
import argparse
import copy
import functools
import json

from common import (REPO_ROOT, current_rss_mib, finish_machine_info, interleaved,
                    machine_info, markdown_table, paired_ratio, peak_rss_mib, reset_peak_rss,
                    run_child, summary, write_result)

CONFIGS = {
    'mobilenet_v2': {'cam': 'configs/stage1/cam_mobilenetv2_demo.py',
                     'bas': 'configs/stage1/bas_mobilenetv2_demo.py'},
    'resnet50': {'cam': 'configs/stage1/cam_resnet50_voc.py',
                 'bas': 'configs/stage1/bas_resnet50_voc.py'},
}
BAS_VARIANTS = ('bas', 'bas_deepcopy', 'bas_deepcopy_frozen')
# Full runs: the demo's MobileNetV2 batch; ResNet-50 at a CPU-sized crop.
# glibc: serve blocks >= 64 KiB by mmap and give them back on free, so the RSS
# of the memory children follows the live tensors instead of malloc's caches.
MALLOC_ENV = {'MALLOC_MMAP_THRESHOLD_': '65536', 'MALLOC_TRIM_THRESHOLD_': '65536'}
FULL = {'mobilenet_v2': dict(batch=16, size=128), 'resnet50': dict(batch=8, size=224)}
QUICK = {'mobilenet_v2': dict(batch=4, size=96), 'resnet50': dict(batch=2, size=96)}


def copy_later_stage(model, freeze):
    """Fresh copies of the later stage and classifier (the reference's per-step copy)."""
    later = copy.deepcopy(model.backbone.later)
    classifier = copy.deepcopy(model.classifier)
    if freeze:
        for param in list(later.parameters()) + list(classifier.parameters()):
            param.requires_grad_(False)
    return later, classifier


def deepcopy_class_maps(model, erased, norm, freeze):
    """The background branch through fresh copies in train mode (the
    reference: ``norm`` is always 'batch' here): ``freeze=False`` is the
    reference (parameters left requiring grad, not in the optimizer, so never
    updated); ``freeze=True`` switches them off (no weight gradients)."""
    later, classifier = copy_later_stage(model, freeze)
    return classifier(later(erased))


def model_config(backbone, method):
    from mmengine.config import Config
    return Config.fromfile(str(REPO_ROOT / CONFIGS[backbone][method])).model.copy()


def background_setting(backbone):
    return model_config(backbone, 'bas').get('background_dtype', 'float32')


def variants_for(backbone):
    """cam, ours, the two deepcopy ways (all three BAS variants in the
    config's background precision), and ours in float32 when the config asks
    for another precision."""
    extra = ('bas_float32',) if background_setting(backbone) != 'float32' else ()
    return ('cam',) + BAS_VARIANTS + extra


def build(backbone, variant, device, seed=0):
    """The variant's model (built from its config) and an SGD OptimWrapper."""
    import torch
    from mmengine.optim import OptimWrapper

    from stage1_cam.models import build_model

    model_cfg = model_config(backbone, 'cam' if variant == 'cam' else 'bas')
    if variant == 'bas_float32':
        model_cfg['background_dtype'] = 'float32'
    # ResNet-50: no ImageNet weights offline; timing does not depend on them.
    pretrained = True if backbone == 'mobilenet_v2' else False
    model_cfg['backbone'] = dict(model_cfg['backbone'], pretrained=pretrained)
    torch.manual_seed(seed)
    model = build_model(model_cfg)
    if variant in ('bas_deepcopy', 'bas_deepcopy_frozen'):
        model.background_norm = 'batch'  # the reference's pass: the erased batch alone
        model.frozen_class_maps = functools.partial(
            deepcopy_class_maps, model, freeze=variant == 'bas_deepcopy_frozen')
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
    """ours and both deepcopy variants give the same losses on the same batch."""
    import torch
    values = {}
    for variant in BAS_VARIANTS:
        model, _ = build(backbone, variant, device)
        data = make_batch(model.num_classes, batch, size, device)
        torch.manual_seed(1)  # the random class each image picks
        processed = model.data_preprocessor(data, True)
        losses = model(processed['inputs'], processed['data_samples'], mode='loss')
        values[variant] = {k: float(v) for k, v in losses.items()}
    diff = max(abs(values['bas'][k] - values[v][k]) for v in BAS_VARIANTS[1:]
               for k in values['bas'])
    if diff > 1e-4:
        raise AssertionError(f'bas and the deepcopy variants disagree: {values}')
    return round(diff, 8)


def time_copy(model, repeats):
    """Milliseconds one per-step copy of the later stage and classifier takes (median)."""
    import torch
    cuda = next(model.parameters()).is_cuda

    def copy_once():
        copy_later_stage(model, freeze=True)
        if cuda:
            torch.cuda.synchronize()
    return round(1000 * summary(interleaved({'copy': copy_once}, repeats)['copy'])['median_s'], 2)


def time_backbone(backbone, batch, size, repeats, device):
    models = {v: build(backbone, v, device) for v in variants_for(backbone)}
    num_classes = models['cam'][0].num_classes
    data = make_batch(num_classes, batch, size, device)
    steps = {v: step_fn(model, optim, data, device) for v, (model, optim) in models.items()}
    times = interleaved(steps, repeats, warmup=1)
    return {
        'steps': {v: summary(t) for v, t in times.items()},
        'bas_over_cam': paired_ratio(times['bas'], times['cam']),
        'deepcopy_over_bas': paired_ratio(times['bas_deepcopy'], times['bas']),
        'deepcopy_over_cam': paired_ratio(times['bas_deepcopy'], times['cam']),
        'deepcopy_frozen_over_bas': paired_ratio(times['bas_deepcopy_frozen'], times['bas']),
        'deepcopy_frozen_over_cam': paired_ratio(times['bas_deepcopy_frozen'], times['cam']),
        'deepcopy_ms': time_copy(models['bas'][0], repeats),
        **({'float32_over_cam': paired_ratio(times['bas_float32'], times['cam']),
            'bas_over_float32': paired_ratio(times['bas'], times['bas_float32'])}
           if 'bas_float32' in times else {}),
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
    for variant in variants_for(backbone):
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

    from stage1_cam.models.precision import resolve_background_dtype
    machine = machine_info(args.device)
    shapes = QUICK if args.quick else FULL
    repeats = args.repeats or (4 if args.quick else 12)
    memory_steps = 2 if args.quick else 3
    results = {}
    for backbone in args.backbones.split(','):
        shape = shapes[backbone]
        print(f'{backbone}: batch {shape["batch"]} x {shape["size"]}px, {repeats} interleaved '
              f'repetitions on {args.device}', flush=True)
        setting = background_setting(backbone)
        entry = {**shape, 'pretrained': backbone == 'mobilenet_v2',
                 'background_dtype': setting,
                 'background_dtype_resolved': str(resolve_background_dtype(
                     setting, args.device)).replace('torch.', '')}
        entry['losses_max_abs_diff_bas_vs_deepcopy'] = check_same_losses(
            backbone, min(shape['batch'], 4), shape['size'], args.device)
        entry.update(time_backbone(backbone, shape['batch'], shape['size'], repeats, args.device))
        entry['memory'] = memory_backbone(backbone, shape['batch'], shape['size'],
                                          memory_steps, args.device)
        results[backbone] = entry
        print(json.dumps(entry, indent=1), flush=True)

    rows = []
    for backbone, e in results.items():
        for v in e['steps']:
            m = e['memory'][v]
            precision = ('-' if v == 'cam' else 'float32' if v == 'bas_float32'
                         else e['background_dtype_resolved'])
            rows.append([backbone, f'{e["batch"]}x{e["size"]}', v, precision,
                         f'{1000 * e["steps"][v]["median_s"]:.0f}',
                         {'cam': '1.00', 'bas': f'{e["bas_over_cam"]:.2f}',
                          'bas_deepcopy': f'{e["deepcopy_over_cam"]:.2f}',
                          'bas_deepcopy_frozen': f'{e["deepcopy_frozen_over_cam"]:.2f}',
                          'bas_float32': f'{e.get("float32_over_cam", 0):.2f}'}[v],
                         m['forward_mib'], m['step_peak_mib']])
    mem_name = 'GPU' if args.device.startswith('cuda') else 'RSS'
    table = markdown_table(['backbone', 'batch', 'variant', 'background branch',
                            'ms/step (median)', 'x cam',
                            f'{mem_name} MiB after forward', f'{mem_name} MiB step peak'], rows)
    goals = {b: {'bas_le_1.35x_cam': e['bas_over_cam'] <= 1.35,
                 'bas_faster_than_deepcopy': e['deepcopy_over_bas'] > 1.0,
                 # not a goal: the copy at its cheapest, for the record
                 'bas_faster_than_deepcopy_frozen': e['deepcopy_frozen_over_bas'] > 1.0,
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
