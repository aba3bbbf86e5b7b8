"""The demo config trains on pseudo-labels, resumes, and test_seg reports mIoU
(single scale, multi-scale + flip, dense CRF) and writes palette PNGs. Tiny:
a few iterations on 64x64 crops of a handful of images."""
import re
import subprocess
import sys

import pytest
import torch
from PIL import Image

from test_stage2_support import (DEMO_CONFIG, REPO_ROOT, make_demo_data, make_pseudo_labels,
                                 split_ids)
from stage2_seg.datasets import LabelFolderError
from stage2_seg.test import test as run_test
from stage2_seg.train import train

TINY = {
    'train_dataloader.batch_size': 2,
    'crop_size': (64, 64),
    'train_dataloader.dataset.pipeline.3.crop_size': (64, 64),
    'model.data_preprocessor.size': (64, 64),
    'default_hooks.checkpoint.interval': 2,
    'default_hooks.logger.interval': 1,
    'train_cfg.max_iters': 4,
    'train_cfg.val_interval': 4,
    'param_scheduler.0.end': 6,
}


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('stage2')
    data = make_demo_data(root / 'demo', num_train=6, num_val=2)
    pseudo = make_pseudo_labels(data, root / 'pseudo')
    work_dir = root / 'work'
    runner = train(DEMO_CONFIG, work_dir=work_dir, pseudo_labels=pseudo, data_root=str(data),
                   cfg_options=dict(TINY))
    return dict(data=data, pseudo=pseudo, work_dir=work_dir, runner=runner)


def logged_iters(work_dir):
    """Training iterations logged by the run(s) in ``work_dir`` (text logs: the
    visualizer's scalars file is shared by every runner of a process)."""
    iters = []
    for path in sorted(work_dir.glob('*/*.log')):
        iters += [int(m) for m in re.findall(r'Iter\(train\) \[\s*(\d+)/', path.read_text())]
    return iters


def test_trains_and_evaluates(trained):
    work_dir = trained['work_dir']
    assert (work_dir / 'iter_4.pth').is_file() and (work_dir / 'iter_2.pth').is_file()
    assert trained['runner'].iter == 4
    metrics = trained['runner'].message_hub.log_scalars
    assert 'val/mIoU' in metrics and 0 <= metrics['val/mIoU'].current() <= 100
    assert logged_iters(work_dir) == [1, 2, 3, 4]


def test_resumes_from_the_last_checkpoint(trained, tmp_path):
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    for name in ('iter_2.pth', 'iter_4.pth'):
        (work_dir / name).write_bytes((trained['work_dir'] / name).read_bytes())
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_4.pth'))
    options = dict(TINY, **{'train_cfg.max_iters': 6, 'train_cfg.val_interval': 100})
    runner = train(DEMO_CONFIG, work_dir=work_dir, resume=True, pseudo_labels=trained['pseudo'],
                   data_root=str(trained['data']), cfg_options=options)
    assert runner.iter == 6
    assert logged_iters(work_dir) == [5, 6]   # continued, not restarted
    state = torch.load(work_dir / 'iter_6.pth', map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == 6


def test_incomplete_pseudo_labels_refused_before_training(trained, tmp_path):
    ids = split_ids(trained['data'])
    pseudo = make_pseudo_labels(trained['data'], tmp_path / 'pl', complete=False, skip=ids[-1:])
    with pytest.raises(LabelFolderError, match='incomplete') as err:
        train(DEMO_CONFIG, work_dir=tmp_path / 'work', pseudo_labels=pseudo,
              data_root=str(trained['data']), cfg_options=dict(TINY))
    assert str(pseudo) in str(err.value)
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_test_seg_reports_miou_and_writes_pngs(trained, tmp_path):
    checkpoint = trained['work_dir'] / 'iter_4.pth'
    out = tmp_path / 'pred'
    metrics = run_test(DEMO_CONFIG, checkpoint, work_dir=tmp_path / 'work', out=out,
                       data_root=str(trained['data']))
    assert set(metrics) >= {'mIoU', 'mAcc', 'aAcc'}
    pngs = sorted(out.glob('*.png'))
    assert [p.stem for p in pngs] == split_ids(trained['data'], 'val')
    with Image.open(pngs[0]) as image:
        assert image.mode == 'P' and image.size == (64, 64)
    # the same numbers through the TTA wrapper with one view and no CRF
    single = run_test(DEMO_CONFIG, checkpoint, work_dir=tmp_path / 'work', flip=False,
                      ms=True, scales=[1.0], data_root=str(trained['data']))
    assert single['mIoU'] == pytest.approx(metrics['mIoU'], abs=0.01)


def test_test_seg_ms_flip_crf(trained, tmp_path):
    metrics = run_test(DEMO_CONFIG, trained['work_dir'] / 'iter_4.pth',
                       work_dir=tmp_path / 'work', ms=True, scales=[0.75, 1.0], flip=True,
                       crf=True, out=tmp_path / 'pred', data_root=str(trained['data']))
    assert 0 <= metrics['mIoU'] <= 100
    assert len(list((tmp_path / 'pred').glob('*.png'))) == 2


def test_test_seg_command_line(trained, tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'test_seg.py'), DEMO_CONFIG,
         str(trained['work_dir'] / 'iter_4.pth'), '--work-dir', str(tmp_path / 'work'),
         '--data-root', str(trained['data'])],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'mIoU: ' in result.stdout
    assert 'background' in result.stdout + result.stderr   # the per-class table


def test_train_seg_command_line_refuses_incomplete_folder(trained, tmp_path):
    ids = split_ids(trained['data'])
    pseudo = make_pseudo_labels(trained['data'], tmp_path / 'pl', complete=False, skip=ids[:1])
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'train_seg.py'), DEMO_CONFIG,
         '--pseudo-labels', str(pseudo), '--data-root', str(trained['data']),
         '--work-dir', str(tmp_path / 'work')],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: pseudo-label folder') and str(pseudo) in last
    assert 'Traceback' not in result.stderr
