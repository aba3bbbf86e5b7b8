"""kill -9 at random points: re-running the same command finishes the work with
byte-identical results and no partial files.

The kill points are drawn from a seed printed on failure (set
RELIABILITY_SEED to replay one).
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from stage1_cam.datasets.demo import generate_demo_dataset

REPO = Path(__file__).resolve().parents[1]
BAS_CONFIG = str(REPO / 'configs' / 'stage1' / 'bas_mobilenetv2_demo.py')
SEED = int(os.environ.get('RELIABILITY_SEED', time.time_ns() % 100000))


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo') / 'demo'
    generate_demo_dataset(root, seed=11, num_train=8, num_val=2)
    return root


def start(command, log):
    """Start a tool in its own process group (so kill -9 reaches its workers too);
    its output goes to ``log`` (a pipe nobody reads could fill up and stall it)."""
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    with open(log, 'w') as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env)


def kill_when(process, ready, timeout=180):
    """SIGKILL the process group as soon as ``ready()``; False if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None and not ready():
        time.sleep(0.01)
    alive = process.poll() is None
    if alive:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return alive


def _identity(path):
    stat = Path(path).stat()
    return stat.st_ino, stat.st_mtime_ns


def files(folder, pattern='*'):
    return {p.name: p.read_bytes() for p in sorted(Path(folder).glob(pattern))}


def temp_files(root):
    return [str(p) for p in Path(root).rglob('*') if p.name.endswith('.tmp')]


def test_pseudo_labels_killed_then_rerun_are_byte_identical(demo, tmp_path):
    from mmengine.config import Config

    from stage1_cam.pseudo_labels import run_from_config
    from stage1_cam.models import build_model
    torch.manual_seed(0)
    model = build_model(Config.fromfile(BAS_CONFIG).model)
    checkpoint = tmp_path / 'bas.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    options = ['--cfg-options', 'pseudo_label.scales=[1.0,0.5]']
    reference = tmp_path / 'reference'
    run_from_config(BAS_CONFIG, checkpoint, reference, data_root=str(demo), save_cams=True,
                    cfg_options={'pseudo_label.scales': [1.0, 0.5]})

    out = tmp_path / 'killed'
    command = [sys.executable, str(REPO / 'tools' / 'make_pseudo_labels.py'), BAS_CONFIG,
               str(checkpoint), '--out-dir', str(out), '--data-root', str(demo),
               '--workers', '1', '--save-cams', *options]
    kill_at = random.Random(SEED).randint(0, 6)  # 0: killed while starting up
    process = start(command, tmp_path / 'killed.log')
    killed = kill_when(process, lambda: len(list((out / 'labels').glob('*.png'))) >= kill_at
                       and (kill_at or (out / 'manifest.json').is_file()))
    assert killed, f'seed {SEED}: the run ended before the kill at {kill_at} labels'
    manifest = json.loads((out / 'manifest.json').read_text())
    assert not manifest['complete'], f'seed {SEED}'
    # A kill in the middle of a write leaves a temporary file; make sure there is one.
    stale = out / 'labels' / '.train_00007.png.k1ll3d_.tmp'
    stale.write_bytes(b'\x89PNG half')
    # What was finished before the kill: each file's inode and time, which a redo
    # (a new temporary file renamed over it) would change even with equal bytes.
    finished = {path.name: _identity(path) for path in sorted(out.glob('*/*'))
                if path.suffix in ('.png', '.npz') and (out / 'labels' / f'{path.stem}.png').exists()}

    # the same command again (as the library call the tool makes, to spare a start-up)
    manifest = run_from_config(BAS_CONFIG, checkpoint, out, data_root=str(demo), workers=1,
                               save_cams=True, cfg_options={'pseudo_label.scales': [1.0, 0.5]})
    assert files(out / 'labels', '*.png') == files(reference / 'labels', '*.png'), f'seed {SEED}'
    assert files(out / 'cams', '*.npz') == files(reference / 'cams', '*.npz'), f'seed {SEED}'
    assert temp_files(out) == [], f'seed {SEED}'
    assert manifest['complete'] and manifest['num_done'] == 8 and manifest['num_failed'] == 0
    # the resumed run skipped the finished images: their files were not written again
    redone = [name for name, identity in finished.items()
              if _identity(next(out.glob(f'*/{name}'))) != identity]
    assert redone == [], f'seed {SEED}: the resumed run redid finished images {redone}'

    # The same, whatever the kill point: a finished folder with 3 images' files
    # removed is completed by labelling exactly those 3 (the worker processes
    # write only them); the other 5 keep their files untouched.
    partial = tmp_path / 'partial'
    shutil.copytree(reference, partial)
    removed = ['train_00001', 'train_00004', 'train_00006']
    for image_id in removed:
        (partial / 'labels' / f'{image_id}.png').unlink()
        (partial / 'cams' / f'{image_id}.npz').unlink()
    kept = {p.name: _identity(p) for p in sorted(partial.glob('*/*')) if p.suffix in ('.png', '.npz')}
    manifest = run_from_config(BAS_CONFIG, checkpoint, partial, data_root=str(demo), workers=1,
                               save_cams=True, cfg_options={'pseudo_label.scales': [1.0, 0.5]})
    assert manifest['complete'] and manifest['num_done'] == 8
    written = sorted(p.name for p in partial.glob('*/*') if p.suffix in ('.png', '.npz')
                     and kept.get(p.name) != _identity(p))
    assert written == sorted([f'{i}.npz' for i in removed] + [f'{i}.png' for i in removed])
    assert files(partial / 'labels', '*.png') == files(reference / 'labels', '*.png')


def test_training_killed_mid_epoch_resumes_to_the_uninterrupted_result(demo, tmp_path):
    """kill -9 in epoch 2, then --resume: the same epoch-2 weights as one straight run."""
    from stage1_cam.training import train
    options = {'train_dataloader.batch_size': 4, 'train_dataloader.num_workers': 0,
               'train_dataloader.persistent_workers': False, 'train_cfg.max_epochs': 2,
               'param_scheduler.0.end': 2, 'default_hooks.logger.interval': 1}
    straight = tmp_path / 'straight'
    train(BAS_CONFIG, work_dir=str(straight), data_root=str(demo), cfg_options=options)

    work_dir = tmp_path / 'killed'
    log = tmp_path / 'killed.log'
    process = start([sys.executable, str(REPO / 'tools' / 'train_cam.py'), BAS_CONFIG,
                     '--work-dir', str(work_dir), '--data-root', str(demo), '--cfg-options',
                     *(f'{key}={value}' for key, value in options.items())], log)
    pointer = work_dir / 'last_checkpoint'
    # Kill a random few milliseconds after epoch 1's checkpoint is recorded (in epoch 2).
    delay = random.Random(SEED).uniform(0.0, 0.3)
    ready_since = []

    def in_epoch_two():
        if not ready_since and pointer.is_file() and pointer.read_text().endswith('epoch_1.pth'):
            ready_since.append(time.monotonic())
        return bool(ready_since) and time.monotonic() - ready_since[0] >= delay

    killed = kill_when(process, in_epoch_two)
    assert killed and not (work_dir / 'epoch_2.pth').is_file(), \
        f'seed {SEED}: the run was not interrupted in epoch 2: ' + log.read_text()[-2000:]

    runner = train(BAS_CONFIG, work_dir=str(work_dir), data_root=str(demo), cfg_options=options,
                   resume=True)
    assert runner.epoch == 2
    a = torch.load(straight / 'epoch_2.pth', map_location='cpu', weights_only=True)
    b = torch.load(work_dir / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key in a['state_dict']:
        torch.testing.assert_close(a['state_dict'][key], b['state_dict'][key], rtol=1e-5,
                                   atol=1e-6, msg=f'seed {SEED}: {key}')
    # the last logged loss too (the resumed run's history holds epoch 1 from the checkpoint)
    loss_a, loss_b = (c['message_hub']['log_scalars']['train/loss'] for c in (a, b))
    assert loss_b.current() == pytest.approx(loss_a.current(), rel=1e-5)
    assert len(loss_b.data[0]) == len(loss_a.data[0]) == 4  # 2 epochs x 2 iterations


def test_prepare_coco_killed_then_rerun_is_byte_identical(real_data, tmp_path):
    """tools/prepare_coco.py on tinycoco (32 real images): kill -9 while it renders
    the GT, re-run: the same files as one uninterrupted run, nothing partial."""
    from stage1_cam.datasets.coco_prepare import MANIFEST_FILE, prepare_coco
    tiny = real_data / 'super-gradients' / 'tests' / 'data' / 'tinycoco'
    root = tmp_path / 'coco'
    (root / 'annotations').mkdir(parents=True)
    os.symlink(tiny / 'annotations' / 'instances_train2017.json',
               root / 'annotations' / 'instances_train2017.json')
    os.symlink(tiny / 'images' / 'train2017', root / 'train2017')
    reference = tmp_path / 'reference'
    prepare_coco(root, reference, splits=['train2017'], gt_splits=['train2017'], workers=0,
                 progress=False)

    out = tmp_path / 'killed'
    command = [sys.executable, str(REPO / 'tools' / 'prepare_coco.py'), '--coco-root', str(root),
               '--out', str(out), '--splits', 'train2017', '--gt-splits', 'train2017',
               '--workers', '1']
    gt_dir = out / 'SegmentationClass' / 'train2017'
    kill_at = random.Random(SEED).randint(0, 20)  # 0: before the first mask
    process = start(command, tmp_path / 'killed.log')
    killed = kill_when(process, lambda: len(list(gt_dir.glob('*.png'))) >= kill_at
                       and (kill_at or (out / MANIFEST_FILE).is_file()))
    assert killed, f'seed {SEED}: prepare_coco ended before the kill at {kill_at} masks'
    # what a kill in the middle of a write leaves behind (a kill before the first mask
    # comes before the mask folder exists)
    gt_dir.mkdir(parents=True, exist_ok=True)
    (gt_dir / '.000000000139.png.k1ll3d_.tmp').write_bytes(b'half a PNG')
    (out / '.labels_train2017.json.k1ll3d_.tmp').write_bytes(b'{"class_na')

    finished = subprocess.run(command, capture_output=True, text=True, timeout=300,
                              env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert finished.returncode == 0, f'seed {SEED}: ' + finished.stderr[-3000:]
    produced = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob('*'))
                if p.is_file() and p.name != MANIFEST_FILE}
    expected = {str(p.relative_to(reference)): p.read_bytes()
                for p in sorted(reference.rglob('*')) if p.is_file() and p.name != MANIFEST_FILE}
    assert produced.keys() == expected.keys(), f'seed {SEED}'
    assert produced == expected, f'seed {SEED}'
    assert json.loads((out / MANIFEST_FILE).read_text())['complete']


def test_stage2_training_killed_resumes_to_the_uninterrupted_weights(tmp_path):
    """tools/train_seg.py killed -9 after its iteration-2 checkpoint, then --resume:
    the iteration-6 weights equal one straight run's (its random rescale, crop and
    flip draws continue where they stood), and no temporary file is left. Dropout in
    the head makes the model draw from torch's generator too: without the saved
    states the resumed run differs (mmengine's skipping of the trained batches
    replays only the transforms' draws), and with the states restored before
    that skipping it differs as well."""
    from test_stage2_support import DEMO_CONFIG, make_demo_data, make_pseudo_labels
    from stage2_seg.train import train
    data = make_demo_data(tmp_path / 'data', num_train=4, num_val=1, image_size=(48, 48))
    pseudo = make_pseudo_labels(data, tmp_path / 'pseudo')
    options = {'train_dataloader.batch_size': 2, 'crop_size': (32, 32),
               'train_dataloader.dataset.pipeline.3.crop_size': (32, 32),
               'model.data_preprocessor.size': (32, 32), 'default_hooks.checkpoint.interval': 2,
               'default_hooks.logger.interval': 1, 'train_cfg.max_iters': 6,
               'train_cfg.val_interval': 100, 'param_scheduler.0.end': 6,
               'model.decode_head.dropout_ratio': 0.5}
    common = dict(pseudo_labels=pseudo, data_root=str(data), cfg_options=options)
    straight = tmp_path / 'straight'
    train(DEMO_CONFIG, work_dir=str(straight), **common)

    work_dir = tmp_path / 'killed'
    log = tmp_path / 'killed.log'
    process = start([sys.executable, str(REPO / 'tools' / 'train_seg.py'), DEMO_CONFIG,
                     '--work-dir', str(work_dir), '--pseudo-labels', str(pseudo),
                     '--data-root', str(data), '--cfg-options',
                     *(f'{key}={value}'.replace(' ', '') for key, value in options.items())], log)
    pointer = work_dir / 'last_checkpoint'
    delay = random.Random(SEED).uniform(0.0, 0.2)
    ready_since = []

    def after_iteration_two():
        if not ready_since and pointer.is_file() and pointer.read_text().endswith('iter_2.pth'):
            ready_since.append(time.monotonic())
        return bool(ready_since) and time.monotonic() - ready_since[0] >= delay

    killed = kill_when(process, after_iteration_two)
    assert killed and not (work_dir / 'iter_6.pth').is_file(), \
        f'seed {SEED}: the run was not interrupted: ' + log.read_text()[-2000:]
    (work_dir / '.iter_4.pth.k1ll3d_.tmp').write_bytes(b'half a checkpoint')  # a kill mid-write

    runner = train(DEMO_CONFIG, work_dir=str(work_dir), resume=True, **common)
    assert runner.iter == 6
    a = torch.load(straight / 'iter_6.pth', map_location='cpu', weights_only=True)
    b = torch.load(work_dir / 'iter_6.pth', map_location='cpu', weights_only=True)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key in a['state_dict']:
        torch.testing.assert_close(a['state_dict'][key], b['state_dict'][key], rtol=1e-5,
                                   atol=1e-6, msg=f'seed {SEED}: {key}')
    assert temp_files(work_dir) == [], f'seed {SEED}'
    assert pointer.read_text() == str(work_dir / 'iter_6.pth')
