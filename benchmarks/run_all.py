"""Run every stage benchmark and write one markdown summary.

    python3 benchmarks/run_all.py [--quick] [--device cuda] [--only crf,maps]
    python3 benchmarks/run_all.py --summary-only   # summary.md from the JSON files there

Each benchmark runs in its own process with OMP_NUM_THREADS=1 (one thread per
process; the CRF benchmark's parallelism is its worker processes) and writes
``benchmarks/results/<name>.json``; this script then writes
``benchmarks/results/summary.md`` (tables, goals, machine load). ``--quick``
writes to ``work_dirs/bench/results_quick/`` instead (not committed), leaving
the full results alone.
(The demo accuracy benchmark, ``benchmarks/demo_stage1.py``, is separate.)
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import REPO_ROOT, RESULTS_DIR

BENCHMARKS = {  # name -> (script, takes --device, title)
    'bas_overhead': ('bench_bas_overhead.py', True, 'BAS training-step overhead'),
    'maps': ('bench_maps.py', True, 'Activation-map inference (multi-scale + flip)'),
    'crf': ('bench_crf.py', False, 'Dense CRF'),
    'memory': ('bench_memory.py', False, 'Pseudo-label step: memory and output size'),
}


def summary_markdown(results, quick, commands):
    lines = [f'# Stage benchmarks{" (quick settings)" if quick else ""}', '',
             'Written by `benchmarks/run_all.py` on '
             f'{time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}.',
             '']
    for name, result in results.items():
        machine = result.get('machine', {})
        lines += [f'## {BENCHMARKS[name][2]}', '', f'`{commands[name]}`', '',
                  result.get('table', '').rstrip(), '']
        if 'goals' in result:
            lines += [f'Goals: `{json.dumps(result["goals"])}`', '']
        lines += [f'Started {machine.get("started", "?")}; machine: {machine.get("cpus")} CPUs, '
                  'torch threads '
                  f'{machine.get("torch_threads")}, load average before/after '
                  f'{machine.get("load_average_before")} / {machine.get("load_average_after")}'
                  f'{", " + machine["gpu"] if machine.get("gpu") else ""}.', '']
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--device', default='cpu', help='for the model benchmarks (cpu, cuda)')
    parser.add_argument('--only', default=','.join(BENCHMARKS),
                        help=f'comma-separated subset of {",".join(BENCHMARKS)}')
    parser.add_argument('--summary-only', action='store_true',
                        help='run nothing: rebuild summary.md from the JSON files there '
                             '(after running single benchmarks by hand)')
    args = parser.parse_args()
    names = [n for n in args.only.split(',') if n]
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f'unknown benchmark(s) {sorted(unknown)}; choose from {list(BENCHMARKS)}')
    # Quick results are for development: kept out of the committed results.
    out_dir = REPO_ROOT / 'work_dirs' / 'bench' / 'results_quick' if args.quick else RESULTS_DIR
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    results, commands, failed = {}, {}, []
    for name in names:
        script, takes_device, _ = BENCHMARKS[name]
        argv = [sys.executable, str(Path(__file__).parent / script),
                '--out', str(out_dir / f'{name}.json')]
        argv += ['--quick'] if args.quick else []
        argv += ['--device', args.device] if takes_device and args.device != 'cpu' else []
        commands[name] = ' '.join(['OMP_NUM_THREADS=1', 'python3', f'benchmarks/{script}']
                                  + (['--quick'] if args.quick else [])
                                  + (['--device', args.device]
                                     if takes_device and args.device != 'cpu' else []))
        if args.summary_only:
            if (out_dir / f'{name}.json').is_file():
                results[name] = json.loads((out_dir / f'{name}.json').read_text())
            continue
        print(f'=== {name}: {commands[name]}', flush=True)
        started = time.perf_counter()
        if subprocess.run(argv, env=env, cwd=REPO_ROOT).returncode != 0:
            failed.append(name)
            continue
        results[name] = json.loads((out_dir / f'{name}.json').read_text())
        results[name]['seconds'] = round(time.perf_counter() - started, 1)
    from wsss_core.io import atomic_path
    summary_path = out_dir / 'summary.md'
    with atomic_path(summary_path) as tmp:
        Path(tmp).write_text(summary_markdown(results, args.quick, commands))
    print(f'\nwrote {summary_path}')
    if failed:
        print(f'FAILED: {failed}', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
