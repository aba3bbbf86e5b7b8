"""The stage-2 test CRF: the probability floor, the worker pool (CRFTestLoop)
against the in-process path and the in-model CRF, and tools/test_seg.py's
mmseg options (--tta, --show-dir, --crf-workers, --out refusing dataset folders).
Tiny: a 2-iteration model on 64x64 demo images."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.runner import Runner
from scipy import ndimage

from test_stage2_support import DEMO_CONFIG, REPO_ROOT, make_demo_data, make_pseudo_labels
from stage2_seg.crf import crf_refine, crf_refine_kept, check_crf_params, kept_classes
from stage2_seg.crf_test_loop import CRFTestLoop
from stage2_seg.hooks import ValWithoutCudnnBenchmarkHook
from stage2_seg.test import load_test_config
from stage2_seg.train import train
from wsss_core.checkpoint import allow_mmengine_checkpoints
from wsss_core.crf import dense_crf
from wsss_core.io import read_label_png

TINY = {
    'train_dataloader.batch_size': 2,
    'train_dataloader.dataset.pipeline.3.crop_size': (64, 64),
    'model.data_preprocessor.size': (64, 64),
    'default_hooks.checkpoint.interval': 2,
    'train_cfg.max_iters': 2,
    'train_cfg.val_interval': 100,
    'param_scheduler.0.end': 2,
}


def scene(seed=0, size=40, num_classes=7, weak=(4, 5, 6), weak_peak=0.005):
    """A blurred 3-region image and a softmax whose ``weak`` classes stay at or
    below ``weak_peak`` everywhere (the others share the rest)."""
    rng = np.random.default_rng(seed)
    regions = np.zeros((size, size), int)
    regions[:, size // 3:] = 1
    regions[size // 2:, 2 * size // 3:] = 2
    colours = np.array([[200, 40, 40], [40, 180, 60], [50, 60, 200]])
    image = ndimage.gaussian_filter(colours[regions].astype(float), (1, 1, 0))
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    strong = [c for c in range(num_classes) if c not in weak]
    logits = rng.normal(0, 1.0, (len(strong), size, size))
    for region in range(3):
        logits[region % len(strong)][regions == region] += 2.0
    logits = ndimage.gaussian_filter(logits, (0, 3, 3))
    strong_probs = np.exp(logits) / np.exp(logits).sum(0)
    probs = np.zeros((num_classes, size, size), np.float32)
    probs[strong] = strong_probs * (1 - weak_peak * len(weak))
    probs[list(weak)] = rng.uniform(0, weak_peak, (len(weak), size, size))
    probs[list(weak), 0, 0] = weak_peak
    return image, probs / probs.sum(0, keepdims=True)


def test_floor_zero_is_the_full_crf():
    image, probs = scene()
    full = dense_crf(image, 'softmax', probs, params='deeplab')
    q = crf_refine(image, probs, dict(preset='deeplab', prob_floor=0))
    assert np.array_equal(q, full)


def test_classes_below_the_floor_never_enter_or_appear():
    image, probs = scene(weak=(4, 5, 6), weak_peak=0.005)
    q, kept = crf_refine_kept(image, probs, dict(preset='deeplab', prob_floor=0.01))
    assert kept.tolist() == [0, 1, 2, 3]
    assert not q[[4, 5, 6]].any()
    assert not np.isin(q.argmax(0), [4, 5, 6]).any()
    # on this scene the prediction is the full CRF's
    full = dense_crf(image, 'softmax', probs, params='deeplab')
    assert np.array_equal(q.argmax(0), full.argmax(0))
    # a class that reaches the floor at one pixel is kept
    assert 4 in kept_classes(probs, 0.005)
    # at least one class is always kept
    assert kept_classes(np.full((3, 2, 2), 1 / 3, np.float32), 0.9).tolist() == [0]


@pytest.mark.parametrize('floor', [1.0, -0.1, 'high', None])
def test_prob_floor_must_be_in_0_1(floor):
    with pytest.raises(ValueError, match='prob_floor'):
        check_crf_params(dict(preset='deeplab', prob_floor=floor))


def test_unknown_crf_key_is_still_refused():
    with pytest.raises(ValueError, match='prob_flor'):
        check_crf_params(dict(preset='deeplab', prob_flor=0.01))


def test_val_hook_turns_cudnn_benchmark_off_and_back():
    hook = ValWithoutCudnnBenchmarkHook()
    before = torch.backends.cudnn.benchmark
    try:
        torch.backends.cudnn.benchmark = True
        hook.before_val(None)
        assert torch.backends.cudnn.benchmark is False
        hook.after_val(None)
        assert torch.backends.cudnn.benchmark is True
    finally:
        torch.backends.cudnn.benchmark = before


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('stage2_crf')
    data = make_demo_data(root / 'demo', num_train=4, num_val=3)
    pseudo = make_pseudo_labels(data, root / 'pseudo')
    train(DEMO_CONFIG, work_dir=root / 'work', pseudo_labels=pseudo, data_root=str(data),
          cfg_options=dict(TINY))
    return dict(data=data, checkpoint=root / 'work' / 'iter_2.pth')


def _predictions(folder):
    return {p.stem: read_label_png(p) for p in sorted(folder.glob('*.png'))}


def _run(cfg):
    allow_mmengine_checkpoints()
    runner = Runner.from_cfg(cfg)
    return runner, runner.test()


def test_pool_in_process_and_in_model_crf_agree(trained, tmp_path):
    """workers=2 (the pool), workers=0 (this process) and the CRF inside
    WSSSTTAModel (tools/predict.py's path) give the same predictions and
    scores; floor 0 sends all 7 classes to the CRF."""
    common = dict(data_root=str(trained['data']), ms=True, scales=[1.0], flip=True, crf=True,
                  cfg_options={'crf.prob_floor': 0})
    results = {}
    for workers in (2, 0, 'in model'):
        out = tmp_path / f'pred_{workers}'
        cfg = load_test_config(DEMO_CONFIG, trained['checkpoint'], out=out,
                               work_dir=tmp_path / 'work', crf_workers=0 if workers == 'in model' else workers,
                               **common)
        if workers == 'in model':
            cfg.model.crf = cfg.test_cfg.crf
            cfg.test_cfg = dict(type='TestLoop')
        runner, metrics = _run(cfg)
        results[workers] = metrics, _predictions(out)
        if workers != 'in model':
            assert isinstance(runner.test_loop, CRFTestLoop)
            assert runner.test_loop.kept_counts == [7, 7, 7]
    assert len(results[2][1]) == 3
    for other in (0, 'in model'):
        assert results[other][0] == results[2][0]
        assert all(np.array_equal(results[other][1][k], results[2][1][k]) for k in results[2][1])


def test_command_line_tta_crf_show_dir(trained, tmp_path):
    tool = [sys.executable, str(REPO_ROOT / 'tools' / 'test_seg.py'), DEMO_CONFIG,
            str(trained['checkpoint']), '--data-root', str(trained['data'])]
    result = subprocess.run(
        tool + ['--tta', '--crf', '--crf-workers', '2', '--out', str(tmp_path / 'pred'),
                '--show-dir', str(tmp_path / 'vis'), '--work-dir', str(tmp_path / 'work'),
                '--cfg-options', 'default_hooks.visualization.interval=1'],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'mIoU: ' in result.stdout
    assert len(list((tmp_path / 'pred').glob('*.png'))) == 3
    assert len(list((tmp_path / 'vis').rglob('*.png'))) == 3   # image | GT | prediction
    gt = trained['data'] / 'SegmentationClass'
    result = subprocess.run(tool + ['--out', str(gt), '--work-dir', str(tmp_path / 'work')],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: --out') and 'inside the dataset folder' in last
    assert 'Traceback' not in result.stderr
