"""Confusion matrix, mIoU conventions, threshold sweep (stage1_cam.evaluation)."""
import json
import math

import numpy as np
import pytest

from stage1_cam.evaluation import ConfusionMatrix, plot_sweep, threshold_sweep
from wsss_core.io import IGNORE_INDEX
from stage1_cam.refine import seed_label

# A 2x4 example scored by hand (3 classes). Pairs (gt, pred) of the 7 gt-valid
# pixels: (0,0) (0,1) (1,1) (1,1) (0,255) (2,2) (2,0); the last gt pixel is 255
# and does not count whatever is predicted there.
GT = np.array([[0, 0, 1, 1], [0, 2, 2, 255]], np.uint8)
PRED = np.array([[0, 1, 1, 1], [255, 2, 0, 2]], np.uint8)


def test_hand_computed_example():
    cm = ConfusionMatrix(3).update(PRED, GT)
    # rows gt, columns pred 0, 1, 2, then "predicted 255"
    np.testing.assert_array_equal(cm.matrix, [[1, 1, 0, 1],
                                              [0, 2, 0, 0],
                                              [1, 0, 1, 0]])
    # exclude 255 predictions: IoU0 = 1/(2+2-1), IoU1 = 2/(2+3-2), IoU2 = 1/(2+1-1)
    np.testing.assert_allclose(cm.iou(), [1 / 3, 2 / 3, 1 / 2])
    assert cm.miou() == pytest.approx(0.5)
    assert cm.pixel_accuracy() == pytest.approx(4 / 6)
    assert cm.valid_pixels == 7 and cm.uncertain_pixels == 1
    assert cm.coverage() == pytest.approx(6 / 7)
    assert cm.uncertain_share() == pytest.approx(1 / 7)
    # 255 as background (IRN eval_sem_seg): IoU0 = 2/(3+3-2)
    np.testing.assert_allclose(cm.iou('background'), [1 / 2, 2 / 3, 1 / 2])
    assert cm.miou('background') == pytest.approx(5 / 9)
    # 255 as a miss (mmseg): the gt-0 pixel is a false negative, IoU0 = 1/(3+2-1)
    np.testing.assert_allclose(cm.iou('miss'), [1 / 4, 2 / 3, 1 / 2])
    assert cm.miou('miss') == pytest.approx(17 / 36)
    assert cm.pixel_accuracy('miss') == pytest.approx(4 / 7)


def test_absent_class_is_nan_and_left_out_of_the_mean():
    cm = ConfusionMatrix(4).update(PRED, GT)
    assert math.isnan(cm.iou()[3])
    assert cm.miou() == pytest.approx(0.5)
    # a class predicted but absent from gt is a real 0, not NaN
    cm2 = ConfusionMatrix(4).update(np.array([[3, 0]]), np.array([[0, 0]]))
    np.testing.assert_allclose(cm2.iou()[[0, 3]], [0.5, 0.0])
    assert np.isnan(cm2.iou()[[1, 2]]).all()


def test_ignored_gt_and_all_uncertain():
    cm = ConfusionMatrix(3).update(np.full((2, 2), 255), np.full((2, 2), 255))
    assert cm.valid_pixels == 0 and math.isnan(cm.coverage()) and math.isnan(cm.miou())
    cm.update(np.full((1, 3), 255, np.uint8), np.array([[0, 1, 255]], np.uint8))
    assert cm.coverage() == 0.0 and cm.uncertain_pixels == 2
    assert math.isnan(cm.miou()) and cm.miou('miss') == 0.0


def test_bad_indices_are_errors():
    with pytest.raises(ValueError, match='prediction holds classes'):
        ConfusionMatrix(3).update(np.array([[3]]), np.array([[0]]))
    with pytest.raises(ValueError, match='ground truth holds classes'):
        ConfusionMatrix(3).update(np.array([[0]]), np.array([[7]]))
    with pytest.raises(ValueError, match='shape'):
        ConfusionMatrix(3).update(np.zeros((2, 2)), np.zeros((2, 3)))
    # a wrong prediction where gt is ignored does not matter
    ConfusionMatrix(3).update(np.array([[9]]), np.array([[255]]))


def random_pairs(rng, count, num_classes=21, shape=(37, 53)):
    pairs = []
    for _ in range(count):
        gt = rng.integers(0, num_classes - 1, shape).astype(np.uint8)  # last class never in gt
        gt[rng.random(shape) < 0.1] = IGNORE_INDEX
        pred = np.where(rng.random(shape) < 0.6, gt, rng.integers(0, num_classes - 2, shape))
        pred = pred.astype(np.uint8)
        pred[rng.random(shape) < 0.05] = IGNORE_INDEX
        pairs.append((pred, gt))
    return pairs


def test_merged_shards_equal_one_pass():
    pairs = random_pairs(np.random.default_rng(0), 6)
    whole = ConfusionMatrix(21)
    for pred, gt in pairs:
        whole.update(pred, gt)
    shards = [ConfusionMatrix(21) for _ in range(3)]
    for i, (pred, gt) in enumerate(pairs):
        shards[i % 3].update(pred, gt)
    merged = shards[0] + shards[1] + shards[2]
    assert merged == whole and merged.num_images == 6
    assert sum(shards) == whole
    assert shards[0].merge(shards[1]).merge(shards[2]) == whole
    assert merged.miou() == whole.miou()
    with pytest.raises(ValueError, match='merge'):
        whole.merge(ConfusionMatrix(4))


def test_to_dict_is_json_ready():
    cm = ConfusionMatrix(4).update(PRED, GT)
    summary = cm.to_dict(['aeroplane', 'bicycle', 'bird'])
    assert list(summary['iou']) == ['background', 'aeroplane', 'bicycle', 'bird']
    assert summary['iou']['bird'] is None
    assert summary['miou'] == pytest.approx(0.5)
    assert summary['coverage'] == pytest.approx(6 / 7)
    assert summary['uncertain_share_per_class']['background'] == pytest.approx(1 / 3)
    assert summary['miou_uncertain_as_background'] == pytest.approx(5 / 9)
    json.dumps(summary, allow_nan=False)
    with pytest.raises(ValueError, match='class names'):
        cm.to_dict(['a'])


def test_agrees_with_mmsegmentation_iou_metric():
    try:
        import torch
        from mmseg.evaluation import IoUMetric
    except ImportError as err:  # pragma: no cover - only without mmseg/mmcv
        pytest.skip(f'mmsegmentation cannot be imported ({err}); '
                    'install mmcv 2.1 and mmsegmentation 1.2.2 to run this check')
    rng = np.random.default_rng(1)
    pairs = random_pairs(rng, 5)
    names = [f'c{i}' for i in range(21)]
    metric = IoUMetric(ignore_index=IGNORE_INDEX)
    metric.dataset_meta = {'classes': names}
    ours = ConfusionMatrix(21)
    for pred, gt in pairs:
        ours.update(pred, gt)
        sample = {'pred_sem_seg': {'data': torch.from_numpy(pred.astype(np.int64))[None]},
                  'gt_sem_seg': {'data': torch.from_numpy(gt.astype(np.int64))[None]}}
        metric.process({}, [sample])
    # per class, unrounded: mmseg counts a predicted 255 as no prediction (a miss)
    areas = [sum(r[i] for r in metric.results) for i in range(4)]
    per_class = IoUMetric.total_area_to_metrics(*areas, metrics=['mIoU'])
    np.testing.assert_allclose(per_class['IoU'], ours.iou('miss'), equal_nan=True)
    assert math.isnan(ours.iou('miss')[20])  # class 20 absent from both: NaN in both
    summary = metric.compute_metrics(metric.results)  # rounded to 0.01 %
    assert summary['mIoU'] == pytest.approx(100 * ours.miou('miss'), abs=0.005)
    assert summary['aAcc'] == pytest.approx(100 * ours.pixel_accuracy('miss'), abs=0.005)
    # without 255 in the predictions all three conventions are mmseg's
    clean = [(np.where(p == IGNORE_INDEX, 0, p).astype(np.uint8), g) for p, g in pairs]
    metric.results.clear()
    plain = ConfusionMatrix(21)
    for pred, gt in clean:
        plain.update(pred, gt)
        metric.process({}, [{'pred_sem_seg': {'data': torch.from_numpy(pred.astype(np.int64))},
                             'gt_sem_seg': {'data': torch.from_numpy(gt.astype(np.int64))}}])
    areas = [sum(r[i] for r in metric.results) for i in range(4)]
    per_class = IoUMetric.total_area_to_metrics(*areas, metrics=['mIoU'])
    np.testing.assert_allclose(per_class['IoU'], plain.iou(), equal_nan=True)


# -- threshold sweep -------------------------------------------------------------

def test_sweep_picks_the_separating_threshold():
    """Object pixels peak at 0.28, 0.5 or 0.9; background pixels at 0.1, 0.2 or
    0.27. Only t = 0.27 separates them (0.27 itself ties -> background; at 0.28
    the weakest object pixels tie and turn background)."""
    rng = np.random.default_rng(2)
    items = []
    for classes in ([3], [5, 11]):
        gt = np.zeros((20, 30), np.uint8)
        gt[5:15, 4:14] = classes[0]
        gt[5:15, 16:26] = classes[-1]
        gt[0, :] = IGNORE_INDEX
        maps = np.zeros((len(classes), 20, 30), np.float32)
        for k, c in enumerate(classes):
            region = gt == c
            maps[k][region] = rng.choice([0.28, 0.5, 0.9], size=region.sum())
            maps[k][gt == 0] = rng.choice([0.1, 0.2, 0.27], size=(gt == 0).sum())
        items.append((maps, classes, gt))
    result = threshold_sweep(iter(items), num_classes=21)  # a one-pass iterator is enough
    assert len(result['thresholds']) == 96 and result['thresholds'][27] == pytest.approx(0.27)
    assert result['best_threshold'] == pytest.approx(0.27)
    assert result['best_miou'] == pytest.approx(1.0)
    assert result['miou'][26] < 1.0 and result['miou'][28] < 1.0
    best_iou = np.array(result['best_iou'])
    np.testing.assert_allclose(best_iou[[0, 3, 5, 11]], 1.0)
    assert np.isnan(best_iou[1]) and result['num_images'] == 2


def test_sweep_matches_per_threshold_seeds():
    """Each threshold's matrix equals scoring seed_label at that threshold
    (random multi-class maps, quantised so many pixels tie with thresholds)."""
    rng = np.random.default_rng(3)
    thresholds = [0.5, 0.0, 0.15, 0.3, 0.3, 0.05, 1.0]  # unsorted, repeated
    items = []
    for _ in range(4):
        classes = np.sort(rng.choice(np.arange(1, 21), size=rng.integers(0, 4), replace=False))
        maps = (rng.integers(0, 21, (len(classes), 16, 24)) / 20).astype(np.float32)
        gt = rng.integers(0, 21, (16, 24)).astype(np.uint8)
        gt[rng.random(gt.shape) < 0.1] = IGNORE_INDEX
        items.append((maps, classes, gt))
    result = threshold_sweep(items, thresholds=thresholds, num_classes=21)
    for t, cm, miou in zip(thresholds, result['matrices'], result['miou']):
        naive = ConfusionMatrix(21)
        for maps, classes, gt in items:
            naive.update(seed_label(maps, classes, t), gt)
        assert cm == naive, t
        assert miou == pytest.approx(naive.miou(), nan_ok=True)
    assert result['thresholds'] == thresholds


def test_plot_sweep_writes_png(tmp_path):
    result = {'thresholds': [0.1, 0.2, 0.3], 'miou': [0.4, 0.55, 0.5], 'best_threshold': 0.2,
              'best_miou': 0.55, 'num_images': 3}
    out = plot_sweep(result, tmp_path / 'plots' / 'sweep.png')
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert [p.name for p in (tmp_path / 'plots').iterdir()] == ['sweep.png']
