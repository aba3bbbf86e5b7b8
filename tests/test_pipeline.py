"""tools/run_pipeline.py: the whole chain on a tiny demo set, skipping, resuming,
redoing exactly the steps whose inputs changed, and validating every config first.

The tests sharing ``finished_run`` run in file order; the one that edits an
option comes last."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from wsss_pipeline.run import STEPS, run_pipeline, selected_steps
from wsss_pipeline.settings import PipelineConfigError, load_settings
from wsss_pipeline.validate import PipelineValidationError

REPO = Path(__file__).resolve().parents[1]
CONFIG = str(REPO / 'configs' / 'pipeline' / 'demo.py')
PER_METHOD = ('train_cam', 'make_pseudo_labels', 'eval_labels', 'train_seg', 'test_seg')

# A demo set of 16 + 6 images, one epoch, four stage-2 iterations, two test protocols.
TINY = {
    'dataset.prepare': dict(num_train=16, num_val=6, seed=0),
    'stage1_cfg_options': {'train_cfg.max_epochs': 1, 'train_dataloader.batch_size': 8,
                           'pseudo_label.scales': [1.0]},
    'stage1_cfg_options_cam': {'train_cfg.max_epochs': 1, 'param_scheduler.0.end': 1},
    'stage2_cfg_options': {'train_cfg.max_iters': 4, 'train_cfg.val_interval': 4,
                           'default_hooks.checkpoint.interval': 2,
                           'train_dataloader.batch_size': 4},
    'test_protocols': [dict(name='single-scale'),
                       dict(name='MS+flip+CRF', ms=True, flip=True, crf=True, scales=[0.5, 1.0])],
    'figures': dict(num_images=2),
}


def _records(work_dir):
    return {str(p.relative_to(work_dir)): p.read_text()
            for p in sorted(Path(work_dir).glob('**/step.json'))}


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('pipeline')
    work_dir, data_root = root / 'work', root / 'demo'
    results = run_pipeline(CONFIG, work_dir, methods=['cam', 'bas'], data_root=data_root,
                           workers=1, cfg_options=TINY)
    return work_dir, data_root, results


def test_results_json_has_the_table_fields(finished_run):
    work_dir, data_root, results = finished_run
    on_disk = json.loads((work_dir / 'results.json').read_text())
    assert on_disk['methods'].keys() == results['methods'].keys() == {'cam', 'bas'}
    assert on_disk['eval_split'] == 'train' and on_disk['dataset']['num_train'] == 16
    assert [p['name'] for p in on_disk['protocol']['stage2']] == ['single-scale', 'MS+flip+CRF']
    for method, row in on_disk['methods'].items():
        assert row['seed_num_images'] == 16 and row['seg_split'] == 'val'
        for key in ('seed_miou', 'label_miou', 'label_uncertain_share',
                    'label_miou_255_as_background'):
            assert 0.0 <= row[key] <= 100.0, (method, key, row[key])
        assert 0.0 <= row['best_threshold'] <= 0.95
        assert set(row['seg_miou']) == {'single-scale', 'MS+flip+CRF'}
        assert all(0.0 <= v <= 100.0 for v in row['seg_miou'].values())
        for step in PER_METHOD:
            assert row['timings'][step]['seconds'] >= 0.0
            assert row['timings'][step]['cpu_seconds'] >= 0.0
        # The seed mIoU in the table is the one the sweep file holds, in percent.
        sweep = json.loads((work_dir / method / 'eval_labels' / 'seed_eval.json').read_text())
        assert row['seed_miou'] == pytest.approx(100 * sweep['best_miou'], abs=0.01)
    table = (work_dir / 'results.md').read_text()
    assert '| CAM |' in table and '| BAS |' in table and 'MS+flip+CRF' in table


def test_figures_are_written(finished_run):
    from PIL import Image
    work_dir, _, results = finished_run
    assert set(results['figures']) == {'threshold_curves', 'samples_cam', 'samples_bas'}
    for path in results['figures'].values():
        with Image.open(path) as image:
            assert image.width > 200 and image.height > 200


def test_second_run_skips_every_step(finished_run, capsys):
    work_dir, data_root, _ = finished_run
    before = _records(work_dir)
    results_before = (work_dir / 'results.json').read_text()
    run_pipeline(CONFIG, work_dir, methods=['cam', 'bas'], data_root=data_root, workers=1,
                 cfg_options=TINY)
    out = capsys.readouterr().out
    assert out.count('complete, skipped') == 1 + 2 * len(PER_METHOD) + 1   # + report
    assert 'running' not in out
    assert _records(work_dir) == before
    assert (work_dir / 'results.json').read_text() == results_before


def test_interrupted_step_resumes_and_redoes_later_steps(finished_run, capsys):
    """A training that died after its last checkpoint resumes from it (no step
    is trained twice); the steps after it are redone, the ones before are not."""
    work_dir, data_root, _ = finished_run
    before = _records(work_dir)
    (work_dir / 'bas' / 'train_seg' / 'step.json').unlink()
    run_pipeline(CONFIG, work_dir, methods=['cam', 'bas'], data_root=data_root, workers=1,
                 cfg_options=TINY)
    out = capsys.readouterr().out
    record = json.loads((work_dir / 'bas' / 'train_seg' / 'step.json').read_text())
    assert record['result']['resumed'] is True and record['result']['iterations'] == 4
    assert 'test_seg [bas]: running' in out
    after = _records(work_dir)
    for name in before:
        if name.startswith('bas/t') and ('train_seg' in name or 'test_seg' in name):
            continue
        assert after[name] == before[name], name


def test_only_redoes_one_step(finished_run, capsys):
    work_dir, data_root, _ = finished_run
    before = _records(work_dir)
    run_pipeline(CONFIG, work_dir, methods=['cam'], data_root=data_root, workers=1,
                 only_step='eval_labels', cfg_options=TINY)
    out = capsys.readouterr().out
    assert 'eval_labels [cam]: running' in out and '== train_cam' not in out
    after = _records(work_dir)
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {'cam/eval_labels/step.json'}
    # The report now describes the chosen method only.
    assert list(json.loads((work_dir / 'results.json').read_text())['methods']) == ['cam']


def test_only_then_a_plain_run_leaves_no_stale_step(finished_run, capsys):
    """--only train_seg makes test_seg (which reads it) stale: the report leaves it
    out and says so, and the next plain run redoes just that step. A record of an
    older version (no inputs in it) is stale too, with the reason."""
    work_dir, data_root, _ = finished_run
    run = dict(methods=['cam', 'bas'], data_root=data_root, workers=1, cfg_options=TINY)
    run_pipeline(CONFIG, work_dir, only_step='train_seg', **{**run, 'methods': ['bas']})
    out = capsys.readouterr().out
    assert '== bas: test_seg read train_seg and are stale now' in out
    results = json.loads((work_dir / 'results.json').read_text())
    assert results['methods']['bas']['stale'] == {'test_seg': 'its input train_seg was redone since'}
    assert results['methods']['bas']['seg_miou'] is None
    assert 'Stale steps, left out above' in (work_dir / 'results.md').read_text()

    old = work_dir / 'cam' / 'eval_labels' / 'step.json'
    record = json.loads(old.read_text())
    del record['inputs']
    old.write_text(json.dumps(record))
    before = _records(work_dir)
    run_pipeline(CONFIG, work_dir, **run)
    out = capsys.readouterr().out
    assert 'eval_labels [cam]: made by an older version that recorded no inputs; redoing it' in out
    assert 'test_seg [bas]: its input train_seg was redone since; redoing it' in out
    after = _records(work_dir)
    assert {name for name in before if after[name] != before[name]} == {
        'cam/eval_labels/step.json', 'bas/test_seg/step.json'}
    results = json.loads((work_dir / 'results.json').read_text())
    for method, row in results['methods'].items():
        assert row['stale'] == {}, method
        test = json.loads((work_dir / method / 'test_seg' / 'step.json').read_text())
        assert row['seg_miou'] == {name: m['mIoU'] for name, m in test['result']['metrics'].items()}


def test_wrong_class_count_of_the_second_method_fails_before_any_step(tmp_path):
    """Every chosen config is built and checked before the first step: a wrong
    class count in BAS's config (the second method) and in the stage-2 config are
    both reported, one line each, and nothing is trained or written."""
    work_dir = tmp_path / 'work'
    options = {**TINY, 'stage1_cfg_options_bas': {'model.num_classes': 5},
               'stage2_cfg_options': {**TINY['stage2_cfg_options'],
                                      'model.decode_head.num_classes': 21}}
    with pytest.raises(PipelineValidationError) as err:
        run_pipeline(CONFIG, work_dir, methods=['cam', 'bas'], data_root=tmp_path / 'demo',
                     workers=1, cfg_options=options)
    problems = err.value.problems
    assert problems[0].startswith('bas (bas_mobilenetv2_demo.py): model.num_classes is 5 but '
                                  'train_dataloader.dataset.num_classes is 6')
    assert any(p.startswith('stage 2 (deeplabv2_mobilenetv2_demo.py): '
                            'model.decode_head.num_classes is 21') for p in problems)
    assert not work_dir.exists() and not (tmp_path / 'demo').exists()

    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'run_pipeline.py'), CONFIG,
                           '--work-dir', str(work_dir), '--data-root', str(tmp_path / 'demo'),
                           '--cfg-options', 'stage1_cfg_options_bas.model.num_classes=5'],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith('run_pipeline: error: 2 problem(s) in the configs of '), lines
    assert lines[1].startswith('  - bas (bas_mobilenetv2_demo.py): model.num_classes is 5')
    assert not work_dir.exists()


def test_step_selection():
    assert selected_steps() == (list(STEPS), set())
    assert selected_steps(only_step='test_seg') == (['test_seg'], {'test_seg'})
    steps, forced = selected_steps(from_step='train_seg')
    assert steps == list(STEPS) and forced == {'train_seg', 'test_seg', 'report'}
    with pytest.raises(PipelineConfigError, match='--from or --only'):
        selected_steps(from_step='train_seg', only_step='test_seg')


def test_bad_settings_fail_before_any_work(tmp_path):
    with pytest.raises(PipelineConfigError, match=r"unknown method\(s\) \['gradcam'\]"):
        load_settings(CONFIG, methods=['gradcam'])
    with pytest.raises(PipelineConfigError, match='pipeline config not found'):
        load_settings(tmp_path / 'nope.py')
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'run_pipeline.py'), CONFIG,
                           '--work-dir', str(tmp_path / 'w'), '--methods', 'cam,gradcam'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "unknown method(s) ['gradcam']" in proc.stderr
    assert not (tmp_path / 'w').exists()


def test_coco_demo_prepare_step_writes_the_prepared_folder(tmp_path, capsys):
    """The COCO kinds run prepare_coco into data_root + '_wsss', where the COCO
    configs read labels, id lists and GT; the COCO folder itself is only read."""
    data_root = tmp_path / 'coco'
    run_pipeline(str(REPO / 'configs' / 'pipeline' / 'coco_demo.py'), tmp_path / 'work',
                 methods=['bas'], data_root=data_root, only_step='prepare', workers=0,
                 cfg_options={'dataset.generate': dict(num_train=8, num_val=4,
                                                       image_size=(64, 64))})
    record = json.loads((tmp_path / 'work' / 'prepare' / 'step.json').read_text())
    prepared = Path(record['result']['prepared_root'])
    assert prepared == tmp_path / 'coco_wsss'
    for name in ('categories.json', 'labels_train2014.json', 'train2014.txt', 'val2014.txt'):
        assert (prepared / name).is_file(), name
    gt = sorted((prepared / 'SegmentationClass' / 'val2014').glob('*.png'))
    assert gt and len(gt) == len((prepared / 'val2014.txt').read_text().split())
    assert record['result']['splits']['val2014']['complete'] is True
    assert not any(p.name.endswith('.png') for p in (data_root / 'annotations').iterdir())


def test_edited_option_redoes_the_step_and_the_later_ones(finished_run, capsys):
    """Editing CAM's learning rate redoes CAM's training and the four steps that
    follow from it, says why, leaves BAS alone, and the report shows the new
    numbers. (Last of the tests on ``finished_run``: it changes its settings.)"""
    work_dir, data_root, _ = finished_run
    before = _records(work_dir)
    options = {**TINY, 'stage1_cfg_options_cam': {**TINY['stage1_cfg_options_cam'],
                                                  'optim_wrapper.optimizer.lr': 0.005}}
    run_pipeline(CONFIG, work_dir, methods=['cam', 'bas'], data_root=data_root, workers=1,
                 cfg_options=options)
    out = capsys.readouterr().out
    assert ('== train_cam [cam]: config changed: optim_wrapper.optimizer.lr 0.01 -> 0.005; '
            'redoing it and 4 later step(s)') in out
    assert 'make_pseudo_labels [cam]: its input train_cam was redone since; redoing it' in out
    after = _records(work_dir)
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {f'cam/{step}/step.json' for step in PER_METHOD}
    results = json.loads((work_dir / 'results.json').read_text())
    row = results['methods']['cam']
    sweep = json.loads((work_dir / 'cam' / 'eval_labels' / 'seed_eval.json').read_text())
    assert row['seed_miou'] == pytest.approx(100 * sweep['best_miou'], abs=0.01)
    test = json.loads((work_dir / 'cam' / 'test_seg' / 'step.json').read_text())
    assert row['seg_miou'] == {name: m['mIoU'] for name, m in test['result']['metrics'].items()}
    for step in PER_METHOD:
        record = json.loads((work_dir / 'cam' / step / 'step.json').read_text())
        assert [f'cam/{step}', record['run_id']] in results['steps_fingerprint']
    train = json.loads((work_dir / 'cam' / 'train_cam' / 'step.json').read_text())
    assert train['inputs']['settings']['config.optim_wrapper.optimizer.lr'] == 0.005
    assert train['result']['resumed'] is False


def test_a_pseudo_label_option_leaves_the_training_current(tmp_path):
    """A confident-region threshold given as a pipeline option (stage1_cfg_options_bas)
    changes what make_pseudo_labels and the steps after it read, never train_cam's
    inputs: the classifier is not retrained for it."""
    from wsss_pipeline.steps import Context

    def fingerprints(options):
        settings = load_settings(CONFIG, methods=['bas'], data_root=str(tmp_path / 'demo'),
                                 cfg_options={**TINY, **options})
        book = Context(settings, tmp_path / 'work', 1).book
        return {step: book.expected(step, 'bas')[0] for step in PER_METHOD}

    plain = fingerprints({})
    edited = fingerprints({'stage1_cfg_options_bas': {
        'pseudo_label.refine.fg_threshold': 0.75, 'pseudo_label.refine.bg_threshold': 0.5}})
    assert edited['train_cam'] == plain['train_cam']
    for step in PER_METHOD[1:]:
        assert edited[step] != plain[step], step
    retrained = fingerprints({'stage1_cfg_options_bas': {'optim_wrapper.optimizer.lr': 0.005}})
    assert retrained['train_cam'] != plain['train_cam']


def test_changes_are_described_key_by_key():
    from wsss_pipeline.bookkeeping import dependents, describe_changes, flatten
    old = flatten({'config': {'optim_wrapper': {'optimizer': {'lr': 0.001}},
                              'param_scheduler': [{'end': 5}], 'scales': [1.0]},
                   'options': {'optim_wrapper.optimizer.lr': 0.001}, 'eval_split': 'train'})
    assert old['config.param_scheduler.0.end'] == 5 and old['config.scales'] == [1.0]
    new = {**old, 'config.optim_wrapper.optimizer.lr': 0.005,
           'options.optim_wrapper.optimizer.lr': 0.005, 'config.scales': [1.0, 0.5]}
    assert describe_changes(old, new) == ('config changed: optim_wrapper.optimizer.lr 0.001 -> '
                                          '0.005, scales [1.0] -> [1.0, 0.5]')
    assert describe_changes(old, {**old, 'eval_split': 'val'}) == \
        'settings changed: eval_split train -> val'
    assert describe_changes(old, old) == ''
    assert dependents('train_cam') == ['make_pseudo_labels', 'eval_labels', 'train_seg',
                                       'test_seg']
    assert dependents('make_pseudo_labels') == ['eval_labels', 'train_seg', 'test_seg']
    assert dependents('eval_labels') == []


def test_voc_dataset_problems_are_listed_before_any_step(tmp_path):
    """VOC: a missing split list and a scored split outside the labelled one are
    found from the lists alone, with the config's other problems."""
    from wsss_pipeline.validate import check_dataset
    (tmp_path / 'JPEGImages').mkdir()
    lists = tmp_path / 'ImageSets' / 'Segmentation'
    lists.mkdir(parents=True)
    (lists / 'train_aug.txt').write_text('a\nb\n')
    (lists / 'train.txt').write_text('a\nc\n')
    settings = load_settings(REPO / 'configs' / 'pipeline' / 'voc.py', data_root=tmp_path)
    assert check_dataset(settings) == [
        f'{lists / "val.txt"} missing: VOC split lists go in ImageSets/Segmentation/ '
        "(train_aug.txt from IRN's voc12/ folder).",
        "eval_split 'train' has 1 image(s) outside label_split 'train_aug' (first: c), which "
        'get no pseudo-label to score; choose an eval_split within label_split.']
