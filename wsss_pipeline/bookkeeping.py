"""What made each step, so that the pipeline never serves stale results.

Make / DVC semantics, with the resolved mmengine configs as the inputs:

* every step's inputs are hashed into a **fingerprint**: the stage config it
  reads, resolved (file, ``--data-root``, the options merged into it), the
  options themselves, the pipeline settings it uses (splits, sweep, test
  protocols; the dataset settings for ``prepare``), and the fingerprint of
  the step it reads (``UPSTREAM``), so it covers everything before it;
* ``step.json`` records that fingerprint, the inputs flattened to
  ``key: value`` (for the console's key-level diff), a fresh ``run_id``
  naming this output, and the ``run_id`` of the upstream output it read;
* a step is **current** when its record's fingerprint is the one the
  settings give now and its upstream output is still the one it read; a
  step that is not current is redone, which gives it a new ``run_id`` and so
  makes every step that reads it stale in turn. ``prepare`` keeps its
  ``run_id`` when it reports the dataset unchanged.
* ``step_inputs.json`` is written when a step starts: an interrupted step
  whose inputs are unchanged resumes (checkpoints, finished images); one whose
  inputs changed in between starts afresh.

Fingerprints follow from the settings alone, so the whole plan is known
before anything runs; only the ``run_id`` links need the records on disk.
"""
import hashlib
import json
import uuid
from dataclasses import dataclass

from stage1_cam.config import load_stage1_config
from stage2_seg.config_utils import move_data_root as move_stage2_data_root
from wsss_core.config import load_config
from wsss_core.io import read_json, write_json

from .settings import stage1_config, stage1_options, stage2_config, stage2_options

PER_METHOD = ('train_cam', 'make_pseudo_labels', 'eval_labels', 'train_seg', 'test_seg')
# The earlier step whose output each step reads ('prepare' is shared by all methods).
UPSTREAM = {'prepare': None, 'train_cam': 'prepare', 'make_pseudo_labels': 'train_cam',
            'eval_labels': 'make_pseudo_labels', 'train_seg': 'make_pseudo_labels',
            'test_seg': 'train_seg'}
# Top-level keys of its stage config that a step does not read: editing them
# leaves it current (the pseudo-label settings do not change the training).
UNREAD_KEYS = {'train_cam': ('pseudo_label', 'wsol'),
               'train_seg': ('test_dataloader', 'test_evaluator', 'test_cfg', 'tta_model',
                             'tta_pipeline', 'tta_scales', 'crf')}
INPUTS_FILE = 'step_inputs.json'


def _plain(value):
    """A JSON stand-in for what a config may hold besides JSON types."""
    if isinstance(value, type) or callable(value):
        return f'{getattr(value, "__module__", "")}.{getattr(value, "__qualname__", value)}'
    return repr(value)


def canonical(obj):
    """The text that is hashed: sorted-key JSON (tuples as lists)."""
    return json.dumps(obj, sort_keys=True, default=_plain, separators=(',', ':'))


def as_plain(obj):
    """``obj`` as JSON types, as it is hashed and stored."""
    return json.loads(canonical(obj))


def flatten(obj, prefix=''):
    """``{'a': {'b': [dict(c=1)]}}`` -> ``{'a.b.0.c': 1}`` (``--cfg-options``
    key syntax); lists of plain values stay whole, as one value."""
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        items = enumerate(obj)
    else:
        return {prefix: obj}
    flat = {}
    for key, value in items:
        flat.update(flatten(value, f'{prefix}.{key}' if prefix else str(key)))
    if not flat and prefix:
        flat[prefix] = obj
    return flat


def _short(value, limit=40):
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit - 3] + '...'


def describe_changes(old, new, limit=3):
    """``config changed: optim_wrapper.optimizer.lr 0.001 -> 0.005`` from two
    flattened input dicts; '' when they agree. Keys under ``options`` are left
    out when the config shows them (the options are merged into it)."""
    keys = sorted(set(old) | set(new), key=lambda k: (not k.startswith('config.'), k))
    changed = [k for k in keys if old.get(k, '<unset>') != new.get(k, '<unset>')]
    if any(k.startswith('config.') for k in changed):
        changed = [k for k in changed if not k.startswith('options.')]
    if not changed:
        return ''
    groups = {}
    for key in changed:
        section, _, rest = key.partition('.')
        name = rest if section == 'config' and rest else key
        groups.setdefault(section, []).append(
            f'{name} {_short(old.get(key, "<unset>"))} -> {_short(new.get(key, "<unset>"))}')
    parts = []
    for section, entries in groups.items():
        what = 'config' if section == 'config' else 'settings'
        more = f' (+{len(entries) - limit} more)' if len(entries) > limit else ''
        parts.append(f'{what} changed: ' + ', '.join(entries[:limit]) + more)
    return '; '.join(parts)


@dataclass(frozen=True)
class Status:
    """Where a step stands: ``kind`` is 'current', 'new' (never ran),
    'interrupted' (started with the same inputs: resumes), 'changed' (its own
    inputs differ, or are unknown) or 'upstream' (the output it read was
    redone); ``resume``: whether a rerun may continue from what is there."""
    kind: str
    reason: str = ''
    resume: bool = False

    @property
    def current(self):
        return self.kind == 'current'


class StepBook:
    """Fingerprints (expected from the settings) and the status of each step on disk."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._expected = {}
        self._configs = {}

    # -- what the settings say each step's inputs are ----------------------

    def _stage1(self, method):
        key = ('stage1', method)
        if key not in self._configs:
            settings = self.ctx.settings
            cfg = load_stage1_config(stage1_config(settings, method), data_root=self.ctx.data_root,
                                     cfg_options=stage1_options(settings, method))
            self._configs[key] = as_plain(cfg.to_dict())
        return self._configs[key]

    def _stage2(self):
        if 'stage2' not in self._configs:
            settings = self.ctx.settings
            cfg = load_config(stage2_config(settings), data_root=self.ctx.data_root,
                              move_data_root=move_stage2_data_root,
                              cfg_options=stage2_options(settings))
            self._configs['stage2'] = as_plain(cfg.to_dict())
        return self._configs['stage2']

    def inputs(self, step, method=None):
        """The step's own inputs (nested, JSON types)."""
        settings = self.ctx.settings
        if step == 'prepare':
            return {'dataset': as_plain(settings.dataset.to_dict())}
        if step in ('train_cam', 'make_pseudo_labels', 'eval_labels'):
            config, options = self._stage1(method), stage1_options(settings, method)
        else:
            config, options = self._stage2(), stage2_options(settings)
        unread = UNREAD_KEYS.get(step, ())
        config = {k: v for k, v in config.items() if k not in unread}
        # The options are in the config already; those under an unread key are left
        # out here too (a pseudo_label.* option must not retrain stage 1).
        options = {k: v for k, v in (options or {}).items() if k.split('.')[0] not in unread}
        inputs = {'config': config, 'options': as_plain(options)}
        if step == 'make_pseudo_labels':
            inputs.update(label_split=settings.get('label_split'), eval_split=self.ctx.eval_split)
        elif step == 'eval_labels':
            inputs.update(eval_split=self.ctx.eval_split,
                          seed_thresholds=as_plain(settings.get('seed_thresholds')))
        elif step == 'test_seg':
            inputs.update(test_protocols=as_plain(list(settings.test_protocols)))
        return inputs

    def expected(self, step, method=None):
        """(fingerprint, flattened inputs) the settings give ``step`` now."""
        method = None if step == 'prepare' else method
        key = (step, method)
        if key not in self._expected:
            inputs = self.inputs(step, method)
            upstream = UPSTREAM[step]
            text = canonical({'step': step, 'inputs': inputs,
                              'upstream': self.expected(upstream, method)[0] if upstream else None})
            self._expected[key] = (hashlib.sha256(text.encode()).hexdigest()[:20], flatten(inputs))
        return self._expected[key]

    # -- what is on disk -----------------------------------------------------

    def upstream_run_id(self, step, method=None):
        upstream = UPSTREAM[step]
        if upstream is None:
            return None
        record = self.ctx.record(upstream, None if upstream == 'prepare' else method)
        return record.get('run_id') if record else None

    def status(self, step, method=None):
        """The ``Status`` of ``step`` (of ``method``) on disk against the settings."""
        method = None if step == 'prepare' else method
        fingerprint, flat = self.expected(step, method)
        upstream = UPSTREAM[step]
        upstream_run = self.upstream_run_id(step, method)
        record = self.ctx.record(step, method)
        if record is None:
            started_path = self.ctx.step_dir(step, method) / INPUTS_FILE
            started = read_json(started_path) if started_path.is_file() else None
            if started is None:
                folder = self.ctx.step_dir(step, method)
                if folder.is_dir() and any(folder.iterdir()):
                    return Status('changed', 'holds files of an interrupted run that recorded no '
                                  'inputs (an older version); starting afresh')
                return Status('new', resume=True)
            if started.get('fingerprint') == fingerprint and \
                    started.get('upstream_run_id') == upstream_run:
                return Status('interrupted', 'interrupted earlier; resuming', resume=True)
            change = describe_changes(started.get('settings') or {}, flat) or \
                f'its input {upstream} was redone'
            return Status('changed', f'interrupted, and since then {change}; starting afresh')
        inputs = record.get('inputs')
        if not isinstance(inputs, dict) or 'fingerprint' not in inputs:
            return Status('changed', 'made by an older version that recorded no inputs')
        # An input redone since is the cause to report (its own changes show there).
        if upstream is not None and inputs.get('upstream_run_id') != upstream_run:
            return Status('upstream', f'its input {upstream} was redone since')
        if inputs['fingerprint'] != fingerprint:
            change = describe_changes(inputs.get('settings') or {}, flat)
            if change:
                return Status('changed', change)
            return Status('upstream', f'its input {upstream} changed')
        return Status('current')

    def current_record(self, step, method=None):
        """The step's record when it and every step before it are current, else None:
        what the report may show (it never mixes outputs of different inputs)."""
        method = None if step == 'prepare' else method
        if not self.status(step, method).current:
            return None
        upstream = UPSTREAM[step]
        if upstream is not None and self.current_record(upstream, method) is None:
            return None
        return self.ctx.record(step, method)

    def stale_reason(self, step, method=None):
        """Why the report leaves a step out ('' when it shows it, or it never ran)."""
        method = None if step == 'prepare' else method
        if self.ctx.record(step, method) is None:
            return ''
        status = self.status(step, method)
        if not status.current:
            return status.reason
        upstream = UPSTREAM[step]
        if upstream is not None and self.current_record(upstream, method) is None:
            return f'its input {upstream} is stale'
        return ''

    def begin(self, step, method=None):
        """Mark ``step`` started with its inputs (``step_inputs.json``); return the
        ``inputs`` entry its ``step.json`` will carry."""
        fingerprint, flat = self.expected(step, method)
        inputs = {'fingerprint': fingerprint, 'upstream': UPSTREAM[step],
                  'upstream_run_id': self.upstream_run_id(step, method), 'settings': flat}
        write_json(self.ctx.step_dir(step, method) / INPUTS_FILE, inputs)
        return inputs


def dependents(step, steps=PER_METHOD):
    """The steps of ``steps`` that read ``step``'s output, directly or through others."""
    found = []
    for candidate in steps:
        up = UPSTREAM.get(candidate)
        while up is not None:
            if up == step:
                found.append(candidate)
                break
            up = UPSTREAM[up]
    return found


def new_run_id():
    return uuid.uuid4().hex[:12]


__all__ = ['StepBook', 'Status', 'UPSTREAM', 'dependents', 'describe_changes', 'flatten',
           'new_run_id', 'INPUTS_FILE']
