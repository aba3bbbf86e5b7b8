"""Shared helpers of the benchmarks: machine record, interleaved timing, output.

Every benchmark writes ``benchmarks/results/<name>.json`` holding a
``machine`` record (CPU count, torch threads, load average before and
after) next to its numbers, and prints a markdown table. Ratios are taken
from repetitions interleaved within one run (A B C, B C A, C A B, ...), so a
burst of load from another job slows every variant alike instead of one.

The benchmarks import torch and the project inside the functions that
measure, on purpose: most run their measurements in fresh child processes,
whose memory and start-up must not include what the parent loaded. They
import through the installed project (tools/install.sh: pip install -e .).
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / 'benchmarks' / 'results'


def load_average():
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, 'getloadavg') else None


def machine_info(device='cpu'):
    """What the numbers depend on; call at the start of a run (load before)."""
    import torch
    info = {'cpus': os.cpu_count(), 'torch_threads': torch.get_num_threads(),
            'omp_num_threads_env': os.environ.get('OMP_NUM_THREADS'),
            'load_average_before': load_average(), 'platform': platform.platform(),
            'processor': platform.processor() or None, 'python': platform.python_version(),
            'torch': torch.__version__, 'device': str(device),
            'started': time.strftime('%Y-%m-%dT%H:%M:%S%z')}
    if str(device).startswith('cuda') and torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name(torch.device(device))
    return info


def finish_machine_info(info):
    info['load_average_after'] = load_average()
    info['note'] = ('a load average above the CPU count means other jobs shared the cores: '
                    'absolute times are then upper bounds; ratios come from interleaved '
                    'repetitions and suffer less')
    return info


def interleaved(variants, repeats, warmup=1):
    """Seconds per call of each ``variants[name]()``, interleaved.

    Each repetition runs every variant once, in an order rotated by one per
    repetition. Returns {name: [seconds, ...]} without the warm-up calls.
    """
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    times = {name: [] for name in names}
    for rep in range(repeats):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            start = time.perf_counter()
            variants[name]()
            times[name].append(time.perf_counter() - start)
    return times


def summary(seconds):
    """Median / min / max of a list of seconds (the median is what ratios use)."""
    return {'median_s': round(statistics.median(seconds), 5), 'min_s': round(min(seconds), 5),
            'max_s': round(max(seconds), 5), 'repeats': len(seconds)}


def paired_ratio(numerator, denominator):
    """Median of the per-repetition ratios (pairs measured next to each other)."""
    return round(statistics.median(a / b for a, b in zip(numerator, denominator)), 3)


def markdown_table(headers, rows):
    lines = ['| ' + ' | '.join(headers) + ' |', '|' + '---|' * len(headers)]
    lines += ['| ' + ' | '.join(str(cell) for cell in row) + ' |' for row in rows]
    return '\n'.join(lines) + '\n'


def write_result(name, result, out=None):
    """Write ``result`` (atomically) to ``out`` or benchmarks/results/<name>.json."""
    from wsss_core.io import write_json
    path = Path(out) if out else RESULTS_DIR / f'{name}.json'
    write_json(path, result)
    return path


def run_child(args, env=None):
    """Run ``python3 args...`` in a fresh process; return the JSON its last
    stdout line prints (fresh processes make peak-memory numbers comparable)."""
    env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f'benchmark child {args} failed ({proc.returncode}):\n'
                           f'{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def reset_peak_rss():
    """Reset this process's peak-RSS mark (Linux >= 4.0: ``5 > /proc/self/clear_refs``),
    so a later ``peak_rss_mib`` measures only what follows. False if unsupported."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def pss_mib(pid='self'):
    """Proportional set size (Linux smaps_rollup): pages shared with other
    processes (a forked worker's copy-on-write pages) count by their share,
    so a parent and its workers can be summed without counting them twice."""
    try:
        with open(f'/proc/{pid}/smaps_rollup') as f:
            for line in f:
                if line.startswith('Pss:'):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def peak_rss_mib():
    """Peak resident memory of this process (VmHWM since the last reset; else ru_maxrss)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def children_peak_rss_mib():
    """Largest peak RSS among this process's waited-for children."""
    import resource
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


def current_rss_mib(pid='self'):
    """Resident memory now, from /proc (Linux)."""
    try:
        with open(f'/proc/{pid}/statm') as f:
            pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return round(pages * os.sysconf('SC_PAGE_SIZE') / 2 ** 20, 1)


def map_kind_seed_miou(cfg, checkpoint, kind, split, cache):
    """Best seed mIoU (0-1) of ``checkpoint``'s ``kind`` maps ('bas' = the generator alone,
    'cam' = the CAM head, 'fused') on ``split`` of a loaded stage-1 ``cfg``, by the same
    sweep as the pseudo-label step; None for a method without that kind. The sweep is
    cached in ``cache`` (JSON)."""
    from stage1_cam.config_check import method_class
    from stage1_cam.datasets.classification import build_source
    from stage1_cam.maps import load_classifier
    from stage1_cam.pseudo_labels import derive_thresholds, source_config
    from wsss_core.io import read_json, write_json

    if Path(cache).is_file():
        return read_json(cache)['seed_miou']
    if kind not in method_class(cfg).map_kinds:
        return None
    model = load_classifier(cfg, str(checkpoint))
    source = build_source(source_config(cfg, split=split))
    result = derive_thresholds(model, source, kind, cfg.pseudo_label.scales, progress=False)
    write_json(cache, result)
    return result['seed_miou']
