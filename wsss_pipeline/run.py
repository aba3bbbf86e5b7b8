"""Run the named steps in order, skipping the current ones.

A step is current when its folder holds ``step.json`` (written last and
atomically, with its result, timings and inputs) and the fingerprint of its
inputs there is the one the settings give now, and the output it read is
still there unchanged (``bookkeeping.py``). Any other step is redone, and so,
in turn, is every step that reads it; the console says why. ``--from STEP``
redoes STEP and everything after it; ``--only STEP`` runs (and redoes) just
STEP, and says which steps that read it are now stale. Every chosen method and
the stage-2 config are validated before any step runs (``validate.py``).
The report (results.json/.md, figures) shows only current steps and is
rebuilt whenever they changed.
"""
import logging
import os
import resource
import time

from wsss_core.io import write_json

from .bookkeeping import PER_METHOD, UPSTREAM, dependents, new_run_id
from .report import write_report
from .settings import PipelineConfigError, load_settings
from .steps import PER_METHOD_STEPS, Context, prepare
from .validate import validate_pipeline

STEPS = ('prepare', 'train_cam', 'make_pseudo_labels', 'eval_labels', 'train_seg', 'test_seg',
         'report')
logger = logging.getLogger(__name__)


def _cpu_seconds():
    """User + system time of this process and of its finished children (CRF workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_step(ctx, step, method, forced, steps):
    """Run one step unless current; return its record (result + timings)."""
    book = ctx.book
    folder = ctx.step_dir(step, method)
    marker = folder / 'step.json'
    label = step if method is None else f'{step} [{method}]'
    status = book.status(step, method)
    if status.current and step not in forced:
        print(f'== {label}: complete, skipped ({marker})', flush=True)
        return {**ctx.record(step, method), 'skipped': True}
    later = dependents(step, [s for s in steps if s in PER_METHOD])
    if method is None:
        later = later * len(ctx.settings.chosen_methods)
    if status.kind == 'changed' or status.current:
        why = status.reason or 'redo requested (--from/--only)'
        print(f'== {label}: {why}; redoing it' + (f' and {len(later)} later step(s)' if later
                                                 else ''), flush=True)
    elif status.kind == 'upstream':
        print(f'== {label}: {status.reason}; redoing it', flush=True)
    elif status.kind == 'interrupted':
        print(f'== {label}: {status.reason}', flush=True)
    previous = ctx.record(step, method)
    if marker.is_file():
        marker.unlink()   # a redo that crashes must not look complete
    print(f'== {label}: running -> {folder}', flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    inputs = book.begin(step, method)
    # Continue what is there only when it was made from these inputs.
    force = step in forced or not status.resume
    wall, cpu = time.perf_counter(), _cpu_seconds()
    function = prepare if step == 'prepare' else PER_METHOD_STEPS[step]
    result = function(ctx, method, force=force)
    run_id = new_run_id()
    if step == 'prepare' and previous and previous.get('run_id') and \
            result.get('changed') is False:
        run_id = previous['run_id']   # the same data: what was made from it stays current
    record = {'step': step, 'method': method, 'seconds': round(time.perf_counter() - wall, 2),
              'cpu_seconds': round(_cpu_seconds() - cpu, 2),
              'finished': time.strftime('%Y-%m-%dT%H:%M:%S'), 'run_id': run_id,
              'inputs': inputs, 'result': result}
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
    validate_pipeline(settings)   # every problem of every chosen config, before any step
    workers = (os.cpu_count() or 1) if workers is None else workers
    ctx = Context(settings, work_dir, workers)
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if 'prepare' in steps:
        run_step(ctx, 'prepare', None, forced, steps)
    for method in settings.chosen_methods:
        for step in steps:
            if step in PER_METHOD_STEPS:
                if only_step:
                    _note_stale_input(ctx, step, method)
                run_step(ctx, step, method, forced, steps)
        if only_step in PER_METHOD_STEPS or only_step == 'prepare':
            _note_now_stale(ctx, only_step, method)
    # The report shows the current steps only; it is skipped when they are
    # those it was made from.
    results = write_report(ctx, force='report' in forced)
    print(f'== report: {ctx.work_dir / "results.md"} '
          f'({time.perf_counter() - started:.0f} s this run)', flush=True)
    return results


def _note_stale_input(ctx, step, method):
    """``--only STEP`` reads its input as it is: say so when that input is stale."""
    upstream = UPSTREAM[step]
    reason = ctx.book.stale_reason(upstream, method) if upstream else ''
    if reason:
        print(f'== {step} [{method}]: note: its input {upstream} is stale ({reason}); a run '
              'without --only redoes both', flush=True)


def _note_now_stale(ctx, step, method):
    """After ``--only STEP``: the recorded steps that read it are stale now."""
    stale = [s for s in dependents(step) if ctx.book.stale_reason(s, method)]
    if stale:
        print(f'== {method}: {", ".join(stale)} read {step} and are stale now; a run without '
              '--only redoes them', flush=True)
