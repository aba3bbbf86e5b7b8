"""Run the named steps in order, skipping the complete ones.

A step is complete when its folder holds ``step.json``, written last and
atomically, with the step's result and timings. ``--from STEP`` redoes STEP
and everything after it; ``--only STEP`` runs (and redoes) just STEP. The
report (results.json/.md, figures) is rebuilt after every run that changed
a step record.
"""
import logging
import os
import resource
import time

from wsss_core.io import read_json, write_json

from .report import write_report
from .settings import PipelineConfigError, load_settings
from .steps import PER_METHOD_STEPS, Context, prepare

STEPS = ('prepare', 'train_cam', 'make_pseudo_labels', 'eval_labels', 'train_seg', 'test_seg',
         'report')
logger = logging.getLogger(__name__)


def _cpu_seconds():
    """User + system time of this process and of its finished children (CRF workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_step(ctx, step, method, force):
    """Run one step unless complete; return its record (result + timings)."""
    folder = ctx.step_dir(step, method)
    marker = folder / 'step.json'
    label = step if method is None else f'{step} [{method}]'
    if marker.is_file() and not force:
        print(f'== {label}: complete, skipped ({marker})', flush=True)
        record = read_json(marker)
        record['skipped'] = True
        return record
    if marker.is_file():
        marker.unlink()   # a forced redo that crashes must not look complete
    print(f'== {label}: running -> {folder}', flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    wall, cpu = time.perf_counter(), _cpu_seconds()
    function = prepare if step == 'prepare' else PER_METHOD_STEPS[step]
    result = function(ctx, method, force=force)
    record = {'step': step, 'method': method, 'seconds': round(time.perf_counter() - wall, 2),
              'cpu_seconds': round(_cpu_seconds() - cpu, 2),
              'finished': time.strftime('%Y-%m-%dT%H:%M:%S'), 'result': result}
    write_json(marker, record)
    print(f'== {label}: done in {record["seconds"]:.1f} s', flush=True)
    record['skipped'] = False
    return record


def selected_steps(from_step=None, only_step=None):
    """(steps to run, steps to redo even if complete)."""
    for name, value in (('--from', from_step), ('--only', only_step)):
        if value is not None and value not in STEPS:
            raise PipelineConfigError(f'{name} {value!r}: steps are {", ".join(STEPS)}')
    if from_step and only_step:
        raise PipelineConfigError('give --from or --only, not both')
    if only_step:
        return [only_step], {only_step}
    if from_step:
        later = list(STEPS[STEPS.index(from_step):])
        return list(STEPS), set(later)
    return list(STEPS), set()


def run_pipeline(config, work_dir, methods=None, data_root=None, from_step=None,
                 only_step=None, workers=None, cfg_options=None):
    """Run the pipeline; returns the results dict (also in ``work_dir/results.json``)."""
    settings = load_settings(config, methods=methods, data_root=data_root,
                             cfg_options=cfg_options)
    steps, forced = selected_steps(from_step, only_step)
    workers = (os.cpu_count() or 1) if workers is None else workers
    ctx = Context(settings, work_dir, workers)
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # Once a step has (re)made its output, the later steps of the same method
    # redo theirs: a resumed training or a regenerated dataset makes them stale.
    data_changed = False
    if 'prepare' in steps:
        record = run_step(ctx, 'prepare', None, 'prepare' in forced)
        data_changed = not record['skipped'] and record['result'].get('changed', True)
    for method in settings.chosen_methods:
        upstream_ran = data_changed
        for step in steps:
            if step in PER_METHOD_STEPS:
                record = run_step(ctx, step, method, upstream_ran or step in forced)
                upstream_ran = upstream_ran or not record['skipped']
    # The report follows whatever ran (also after --only STEP); it is skipped
    # when the step records are those it was made from.
    results = write_report(ctx, force='report' in forced)
    print(f'== report: {ctx.work_dir / "results.md"} '
          f'({time.perf_counter() - started:.0f} s this run)', flush=True)
    return results
