"""tools/make_pseudo_labels.py: labels, resume after kill -9, shards, failures, manifest."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from stage1_cam.datasets.demo import generate_demo_dataset
from wsss_core.io import read_label_png
from stage1_cam.pseudo_labels import PseudoLabelError, run_from_config

REPO = Path(__file__).resolve().parents[1]
CONFIG = str(REPO / 'configs' / 'stage1' / 'bas_mobilenetv2_demo.py')
TOOL = str(REPO / 'tools' / 'make_pseudo_labels.py')


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    generate_demo_dataset(root, seed=7, num_train=10, num_val=2)
    return root


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """An untrained BAS model (ImageNet backbone, seeded heads) in mmengine's format."""
    from mmengine.config import Config

    from stage1_cam.models import build_model
    torch.manual_seed(0)
    model = build_model(Config.fromfile(CONFIG).model)
    path = tmp_path_factory.mktemp('ckpt') / 'bas.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def label_bytes(out_dir):
    return {p.name: p.read_bytes() for p in sorted((Path(out_dir) / 'labels').glob('*.png'))}


def run(out_dir, demo_root, checkpoint, **kw):
    return run_from_config(CONFIG, checkpoint, out_dir, data_root=str(demo_root), **kw)


def test_labels_written_with_manifest_and_only_present_classes(demo_root, checkpoint, tmp_path):
    from stage1_cam.datasets.voc import DemoSource
    out = tmp_path / 'out'
    manifest = run(out, demo_root, checkpoint, workers=2, save_cams=True)
    source = DemoSource(str(demo_root))
    assert manifest['complete'] and manifest['num_done'] == len(source.ids) == 10
    assert manifest['num_failed'] == 0 and manifest['ids_done'] == sorted(source.ids)
    assert manifest['class_names'] == source.class_names
    assert len(manifest['checkpoint_sha256']) == 64
    for image_id in source.ids:
        label = read_label_png(out / 'labels' / f'{image_id}.png')
        assert label.shape == source.image(image_id).shape[:2]
        present = set(np.unique(label)) - {0, 255}
        assert present <= set(source.labels(image_id)), image_id
        cams = np.load(out / 'cams' / f'{image_id}.npz')
        assert cams['maps'].dtype == np.float16
        assert list(cams['classes']) == source.labels(image_id)
        assert cams['maps'].shape == (len(source.labels(image_id)), *label.shape)
        assert float(cams['maps'].max()) <= 1.0


def test_shards_together_equal_one_run(demo_root, checkpoint, tmp_path):
    full = tmp_path / 'full'
    run(full, demo_root, checkpoint, workers=0)
    sharded = tmp_path / 'sharded'
    first = run(sharded, demo_root, checkpoint, workers=0, shard=(0, 3))
    assert first['num_images'] == 4 and 'merged_from' not in first
    run(sharded, demo_root, checkpoint, workers=0, shard=(1, 3))
    merged = run(sharded, demo_root, checkpoint, workers=0, shard=(2, 3))
    assert merged['complete'] and merged['num_done'] == 10 and len(merged['merged_from']) == 3
    assert label_bytes(full) == label_bytes(sharded)


def test_killed_run_resumes_to_identical_files(demo_root, checkpoint, tmp_path):
    reference = tmp_path / 'reference'
    run(reference, demo_root, checkpoint, workers=0)

    out = tmp_path / 'killed'
    command = [sys.executable, TOOL, CONFIG, str(checkpoint), '--out-dir', str(out),
               '--data-root', str(demo_root), '--workers', '1']
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / 'labels').glob('*.png'))) < 3:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    written = len(list((out / 'labels').glob('*.png')))
    assert 3 <= written < 10, 'the run was not interrupted midway; make the demo split larger'
    manifest = json.loads((out / 'manifest.json').read_text())
    assert not manifest['complete']

    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert label_bytes(out) == label_bytes(reference)
    leftovers = [p.name for p in out.rglob('*') if p.name.endswith('.tmp')]
    assert leftovers == []
    assert json.loads((out / 'manifest.json').read_text())['complete']


def test_failed_image_is_counted_and_exit_status_nonzero(demo_root, checkpoint, tmp_path):
    import shutil
    broken_root = tmp_path / 'broken'
    shutil.copytree(demo_root, broken_root)
    victim = sorted((broken_root / 'JPEGImages').glob('train_*.jpg'))[1]
    victim.write_bytes(victim.read_bytes()[:200])  # truncated JPEG
    out = tmp_path / 'out'
    result = subprocess.run([sys.executable, TOOL, CONFIG, str(checkpoint), '--out-dir', str(out),
                             '--data-root', str(broken_root), '--workers', '0'],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert victim.stem in result.stderr
    manifest = json.loads((out / 'manifest.json').read_text())
    assert manifest['num_failed'] == 1 and manifest['num_done'] == 9
    assert str(victim) in manifest['failed'][victim.stem]
    assert not manifest['complete']


def test_refuses_dataset_folders_and_foreign_manifests(demo_root, checkpoint, tmp_path):
    with pytest.raises(PseudoLabelError, match='never written into'):
        run(Path(demo_root) / 'SegmentationClass', demo_root, checkpoint)
    out = tmp_path / 'out'
    run(out, demo_root, checkpoint, workers=0, shard=(0, 5))
    with pytest.raises(PseudoLabelError, match='different map_kind'):
        run(out, demo_root, checkpoint, workers=0, shard=(0, 5),
            cfg_options={'pseudo_label.map_kind': 'cam'})
    with pytest.raises(PseudoLabelError, match='checkpoint not found'):
        run(tmp_path / 'x', demo_root, tmp_path / 'missing.pth')


def test_maps_in_workers_give_the_parents_labels(demo_root, checkpoint, tmp_path):
    """On a CPU the workers make the maps too (the forked model, one thread
    each); the files are those of the model-in-the-parent layout."""
    in_parent = run(tmp_path / 'parent', demo_root, checkpoint, workers=2, save_cams=True,
                    maps_in_workers=False)
    in_workers = run(tmp_path / 'workers', demo_root, checkpoint, workers=2, save_cams=True,
                     maps_in_workers=True)
    assert in_parent['num_done'] == in_workers['num_done'] == 10
    assert sorted(in_parent['ids_done']) == sorted(in_workers['ids_done'])
    assert label_bytes(tmp_path / 'parent') == label_bytes(tmp_path / 'workers')
    for path in sorted((tmp_path / 'parent' / 'cams').glob('*.npz')):
        with np.load(path) as a, np.load(tmp_path / 'workers' / 'cams' / path.name) as b:
            np.testing.assert_array_equal(a['classes'], b['classes'])
            np.testing.assert_allclose(a['maps'].astype(np.float32),
                                       b['maps'].astype(np.float32), atol=2e-3)
