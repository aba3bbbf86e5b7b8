"""tools/eval_labels.py on folders built from the demo GT."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stage1_cam.datasets.demo import generate_demo_dataset
from stage1_cam.datasets.voc import DemoSource
from stage1_cam.evaluation import evaluate_label_dir, evaluate_seed_dir
from wsss_core.io import write_label_png, write_npz

REPO = Path(__file__).resolve().parents[1]
CONFIG = str(REPO / 'configs' / 'stage1' / 'cam_mobilenetv2_demo.py')


@pytest.fixture(scope='module')
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    generate_demo_dataset(root, seed=11, num_train=6, num_val=2)
    return DemoSource(str(root))


def test_labels_equal_to_gt_score_one_and_uncertain_share_is_reported(source, tmp_path):
    labels = tmp_path / 'labels'
    uncertain = 0
    total = 0
    for index, image_id in enumerate(source.ids):
        gt = source.gt_mask(image_id).copy()
        if index == 0:
            objects = (gt > 0) & (gt < 255)
            gt[objects] = 255  # the objects of one image left uncertain
            uncertain += objects.sum()
        total += gt.size
        write_label_png(labels / f'{image_id}.png', gt)
    result = evaluate_label_dir(labels, source, progress=False)
    assert result['miou'] == pytest.approx(1.0)
    assert result['uncertain_share'] == pytest.approx(uncertain / total)
    assert result['num_missing'] == 0
    assert result['miou_uncertain_as_background'] < 1.0


def test_seed_sweep_finds_threshold_below_map_peak(source, tmp_path):
    cams = tmp_path / 'cams'
    for image_id in source.ids:
        gt = source.gt_mask(image_id)
        classes = np.asarray(source.labels(image_id))
        maps = np.stack([(gt == c) * 0.5 for c in classes]).astype(np.float16)
        write_npz(cams / f'{image_id}.npz', classes=classes.astype(np.int16), maps=maps)
    result = evaluate_seed_dir(cams, source, progress=False)
    assert result['best_miou'] == pytest.approx(1.0)
    assert result['best_threshold'] < 0.5
    at_half = result['thresholds'].index(0.5)
    assert result['miou'][at_half] < 0.5  # all background at t >= peak


def test_cli_prints_table_and_writes_json_and_plot(source, tmp_path):
    cams = tmp_path / 'run' / 'cams'
    for image_id in source.ids:
        gt = source.gt_mask(image_id)
        classes = np.asarray(source.labels(image_id))
        maps = np.stack([(gt == c) * 0.9 for c in classes]).astype(np.float16)
        write_npz(cams / f'{image_id}.npz', classes=classes.astype(np.int16), maps=maps)
    result = subprocess.run([sys.executable, str(REPO / 'tools' / 'eval_labels.py'), CONFIG,
                             '--cams', str(cams), '--data-root', str(source.data_root)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'best: 100.00 mIoU' in result.stdout
    written = json.loads((tmp_path / 'run' / 'seed_eval.json').read_text())
    # the default sweep reaches 0.95 (BAS maps peak at 0.6-0.9)
    assert written['thresholds'][0] == 0.0 and written['thresholds'][-1] == pytest.approx(0.95)
    assert len(written['thresholds']) == 96 and not written['partial']
    assert written['best_miou'] == pytest.approx(1.0)
    assert (tmp_path / 'run' / 'seed_eval.png').read_bytes()[:4] == b'\x89PNG'


def test_empty_folder_is_a_clear_error(source, tmp_path):
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='holds no .png'):
        evaluate_label_dir(tmp_path / 'empty', source, progress=False)


def test_partial_folder_exits_non_zero_unless_allowed(source, tmp_path):
    """A label folder holding 2 of the split's 6 labels is not scored silently: the
    tool exits 1 naming the count and the first missing ids; --allow-partial
    (here the library call behind it) scores the 2 and says so."""
    from stage1_cam.label_report import report_labels
    labels = tmp_path / 'run' / 'labels'
    for image_id in source.ids[:2]:
        write_label_png(labels / f'{image_id}.png', source.gt_mask(image_id))
    result = subprocess.run([sys.executable, str(REPO / 'tools' / 'eval_labels.py'), CONFIG,
                             '--labels', str(labels), '--data-root', str(source.data_root)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    first = ', '.join(source.ids[2:6][:5])
    assert result.stderr.strip() == (
        f'error: {labels} lacks the labels of 4 of the 6 images of the split (first: {first}); '
        'finish it (re-run tools/make_pseudo_labels.py with the same command), check --split, '
        'or pass --allow-partial to score the images that are there.')
    assert not (tmp_path / 'run' / 'label_eval.json').exists()

    scored, text = report_labels(labels, source, allow_partial=True)
    assert scored['partial'] and scored['num_images'] == 2 and scored['num_missing'] == 4
    assert scored['first_missing_ids'] == source.ids[2:]
    assert f'partial (--allow-partial): scored the 2 of 6 images of the split that have files; ' \
           f'4 missing (first: {first})' in text
    assert scored['miou'] == pytest.approx(1.0)
