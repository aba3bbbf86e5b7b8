"""The COCO chain end to end on a tiny COCO-format demo, on the CPU:

generate (COCO layout) -> tools/prepare_coco.py -> train_cam -> make_pseudo_labels
-> eval_labels -> train_seg -> test_seg, through the COCO demo configs with
--data-root (which moves the COCO root and its prepared ``<root>_wsss`` folder).

One chain runs per module (about a minute on 2 cores); the tests check what
each step left behind.
"""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stage1_cam.datasets.demo_coco import DEMO_TO_COCO, generate_coco_demo
from wsss_core.io import read_json, read_label_png

REPO = Path(__file__).resolve().parents[1]
STAGE1 = str(REPO / 'configs' / 'stage1' / 'cam_mobilenetv2_coco_demo.py')
STAGE2 = str(REPO / 'configs' / 'stage2' / 'deeplabv2_mobilenetv2_coco_demo.py')
STAGE2_ITERS = 4


@pytest.fixture(scope='module')
def chain(tmp_path_factory):
    from stage1_cam.label_report import build_eval_source, report_labels, report_seeds
    from stage1_cam.pseudo_labels import run_from_config
    from stage1_cam.training import train as train_cam
    from stage2_seg.test import test as test_seg
    from stage2_seg.train import train as train_seg

    tmp = tmp_path_factory.mktemp('coco_chain')
    coco, prepared = tmp / 'coco', tmp / 'coco_wsss'
    generate_coco_demo(coco, num_train=20, num_val=8, image_size=(64, 64))
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'prepare_coco.py'), '--coco-root', str(coco),
         '--out', str(prepared), '--gt-splits', 'train2014', 'val2014', '--workers', '2'],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    train_cam(STAGE1, work_dir=str(tmp / 'cam'), data_root=str(coco),
              cfg_options={'train_cfg.max_epochs': 1, 'train_dataloader.batch_size': 4})
    labels_dir = tmp / 'pseudo'
    manifest = run_from_config(STAGE1, tmp / 'cam' / 'epoch_1.pth', labels_dir,
                               data_root=str(coco), workers=1, save_cams=True,
                               cfg_options={'pseudo_label.scales': [1.0]})
    source = build_eval_source(STAGE1, data_root=str(coco))
    label_eval, _ = report_labels(labels_dir / 'labels', source)
    seed_eval, _ = report_seeds(labels_dir / 'cams', source, thresholds=np.arange(0, 1, 0.1))
    train_seg(STAGE2, work_dir=str(tmp / 'seg'), data_root=str(coco),
              pseudo_labels=str(labels_dir),
              cfg_options={'train_cfg.max_iters': STAGE2_ITERS,
                           'train_cfg.val_interval': STAGE2_ITERS,
                           'default_hooks.checkpoint.interval': STAGE2_ITERS,
                           'param_scheduler': [dict(type='PolyLR', eta_min=0.0, power=0.9,
                                                    begin=0, end=STAGE2_ITERS,
                                                    by_epoch=False)]})
    metrics = test_seg(STAGE2, str(tmp / 'seg' / f'iter_{STAGE2_ITERS}.pth'),
                       work_dir=str(tmp / 'seg_test'), data_root=str(coco),
                       out=str(tmp / 'predictions'))
    return dict(tmp=tmp, coco=coco, prepared=prepared, manifest=manifest, source=source,
                label_eval=label_eval, seed_eval=seed_eval, metrics=metrics,
                prepare_stdout=proc.stdout)


def _lines(path):
    return path.read_text().split()


def test_prepare_wrote_what_the_configs_read(chain):
    prepared = chain['prepared']
    for split, count in (('train2014', 20), ('val2014', 8)):
        annotated, unannotated = _lines(prepared / f'{split}.txt'), \
            _lines(prepared / f'{split}_unannotated.txt')
        assert len(annotated) + len(unannotated) == count and unannotated
        gt = sorted(p.stem for p in (prepared / 'SegmentationClass' / split).glob('*.png'))
        assert gt == sorted(annotated)
    assert 'train2014: 20 images' in chain['prepare_stdout']
    categories = read_json(prepared / 'categories.json')['categories']
    assert len(categories) == 80
    assert {c['category_id'] for c in categories} >= set(DEMO_TO_COCO.values())


def test_pseudo_labels_cover_annotated_train_images_with_present_classes(chain):
    manifest, prepared = chain['manifest'], chain['prepared']
    annotated = _lines(prepared / 'train2014.txt')
    assert manifest['complete'] and manifest['num_failed'] == 0
    assert sorted(manifest['ids_done']) == sorted(annotated)
    assert len(manifest['class_names']) == 80
    labels = read_json(prepared / 'labels_train2014.json')['labels']
    labels_dir = chain['tmp'] / 'pseudo' / 'labels'
    assert sorted(p.stem for p in labels_dir.glob('*.png')) == sorted(annotated)
    for image_id in annotated:
        values = set(np.unique(read_label_png(labels_dir / f'{image_id}.png')).tolist())
        # the CRF only ever chooses among background and the image's classes
        assert values <= {0, 255, *labels[image_id]}


def _unit(value):
    return value is not None and math.isfinite(value) and 0.0 <= value <= 1.0


def test_stage1_scores_are_valid(chain):
    label_eval, seed_eval = chain['label_eval'], chain['seed_eval']
    assert label_eval['num_images'] == len(_lines(chain['prepared'] / 'train2014.txt'))
    assert _unit(label_eval['miou']) and _unit(label_eval['uncertain_share'])
    assert _unit(label_eval['miou_uncertain_as_background'])
    assert _unit(seed_eval['best_miou'])
    assert (chain['tmp'] / 'pseudo' / 'label_eval.json').is_file()
    assert (chain['tmp'] / 'pseudo' / 'seed_eval.json').is_file()


def test_stage2_trains_and_tests_on_81_classes(chain):
    metrics = chain['metrics']
    assert math.isfinite(metrics['mIoU']) and 0.0 <= metrics['mIoU'] <= 100.0  # mmseg: percent
    assert (chain['tmp'] / 'seg' / f'iter_{STAGE2_ITERS}.pth').is_file()
    predictions = sorted(p.stem for p in (chain['tmp'] / 'predictions').glob('*.png'))
    assert predictions == sorted(_lines(chain['prepared'] / 'val2014.txt'))
    values = set()
    for stem in predictions:
        values |= set(np.unique(read_label_png(chain['tmp'] / 'predictions' / f'{stem}.png')))
    assert max(values) <= 80


def test_eval_source_reads_prepared_gt(chain):
    source, prepared = chain['source'], chain['prepared']
    assert source.prepared_root == prepared and source.split == 'train2014'
    image_id = source.ids[0]
    gt = source.gt_mask(image_id)
    np.testing.assert_array_equal(
        gt, read_label_png(prepared / 'SegmentationClass' / 'train2014' / f'{image_id}.png'))
    assert gt.shape == source.image(image_id).shape[:2]


def test_demo_annotations_reproduce_the_demo_masks(chain):
    """The COCO-format demo's RLE + category mapping, read back through
    prepare_coco, give the demo generator's own label maps (crowds: 255)."""
    from stage1_cam.datasets.demo import DEMO_CLASSES, render_demo_image
    prepared = chain['prepared']
    label_of = {c['category_id']: c['label']
                for c in read_json(prepared / 'categories.json')['categories']}
    to_coco_label = np.zeros(256, np.uint8)
    for index, name in enumerate(DEMO_CLASSES, 1):
        to_coco_label[index] = label_of[DEMO_TO_COCO[name]]
    crowd_pixels = 0
    for image_id in _lines(prepared / 'train2014.txt'):
        index = int(image_id.rsplit('_', 1)[1]) - 1
        _, demo_label, _ = render_demo_image(np.random.default_rng([0, 0, index]), (64, 64))
        expected = to_coco_label[demo_label]
        gt = read_label_png(prepared / 'SegmentationClass' / 'train2014' / f'{image_id}.png')
        crowd = gt == 255
        np.testing.assert_array_equal(gt[~crowd], expected[~crowd])
        assert (expected[crowd] > 0).all()
        crowd_pixels += int(crowd.sum())
    assert crowd_pixels > 0
