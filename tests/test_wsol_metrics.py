"""WSOL box metrics on hand-made maps and boxes (wsolevaluation definitions)."""
import numpy as np
import pytest

from stage1_cam.wsol.metrics import (LocalizationAccumulator, best_iou, box_iou,
                                     boxes_from_mask, mask_at_level, normalize_scoremap,
                                     threshold_level, to_uint8)


def nested_squares(levels, size=40):
    """A map with squares anchored at (0, 0): [(side, value), ...], largest first."""
    scoremap = np.zeros((size, size))
    for side, value in sorted(levels, reverse=True):
        scoremap[:side, :side] = value
    return scoremap


def test_iou_counts_pixels_inclusively():
    # 10x10 boxes overlapping in 5 columns: 50 / (100 + 100 - 50), not 36 / 126.
    assert box_iou([0, 0, 9, 9], [5, 0, 14, 9])[0, 0] == pytest.approx(1 / 3)
    assert box_iou([0, 0, 9, 9], [0, 0, 9, 9])[0, 0] == 1.0
    # a single-pixel box is one pixel, not empty
    assert box_iou([3, 3, 3, 3], [3, 3, 3, 3])[0, 0] == 1.0
    assert box_iou([0, 0, 9, 9], [10, 0, 19, 9])[0, 0] == 0.0  # touching, no shared pixel
    assert box_iou([5, 5, 2, 2], [0, 0, 9, 9])[0, 0] == 0.0  # degenerate box


def test_several_gt_boxes_take_the_best_match():
    gt = [[50, 50, 59, 59], [0, 0, 9, 9]]
    predicted = [[0, 0, 9, 4], [30, 30, 35, 35]]
    assert best_iou(predicted, gt) == pytest.approx(0.5)  # 50 of the second GT's 100 pixels
    assert box_iou(predicted, gt).shape == (2, 2)


def test_box_of_a_mask_is_the_benchmarks_bounding_rectangle():
    mask = np.zeros((20, 20), bool)
    mask[2:6, 3:9] = True  # rows 2..5, cols 3..8
    # cv2.boundingRect: x, y, w=6, h=4 -> [x, y, x + w, y + h]
    np.testing.assert_array_equal(boxes_from_mask(mask, 'all'), [[3, 2, 9, 6]])
    np.testing.assert_array_equal(boxes_from_mask(mask, 'largest'), [[3, 2, 9, 6]])
    edge = np.zeros((20, 20), bool)
    edge[10:, 15:] = True  # reaches the image border: the end is clipped to W-1 / H-1
    np.testing.assert_array_equal(boxes_from_mask(edge, 'all'), [[15, 10, 19, 19]])
    np.testing.assert_array_equal(boxes_from_mask(np.zeros((5, 5), bool)), [[0, 0, 0, 0]])


def test_threshold_is_strict_and_relative_to_the_maximum():
    scoremap = np.array([[0.5, 1.0], [0.2, 0.0]])
    image = to_uint8(scoremap)  # 127, 255, 51, 0
    assert threshold_level(image, 0.5) == 127
    np.testing.assert_array_equal(mask_at_level(image, 127), [[False, True], [False, False]])
    # relative to the map's maximum: a map peaking at 0.4 (u8 102) keeps pixels > int(0.5 * 102)
    dim = to_uint8(np.array([[0.4, 0.2], [0.21, 0.0]]))
    np.testing.assert_array_equal(mask_at_level(dim, threshold_level(dim, 0.5)),
                                  [[True, False], [True, False]])
    with pytest.raises(ValueError, match='normalise'):
        to_uint8(np.array([[0.0, 2.0]]))


def test_min_max_normalisation():
    np.testing.assert_allclose(normalize_scoremap(np.array([[2.0, 4.0], [3.0, 2.0]])),
                               [[0, 1], [0.5, 0]])
    assert not normalize_scoremap(np.full((3, 3), 7.0)).any()  # constant map: all zeros
    assert not normalize_scoremap(np.array([[np.nan, 1.0]])).any()


def test_all_contours_find_a_small_object_the_largest_component_misses():
    scoremap = np.zeros((20, 20))
    scoremap[0:10, 0:10] = 1.0     # large distractor (100 px)
    scoremap[14:18, 14:18] = 1.0   # the object (16 px)
    gt = [[14, 14, 17, 17]]
    mask = scoremap > 0.5
    assert len(boxes_from_mask(mask, 'all')) == 2
    np.testing.assert_array_equal(boxes_from_mask(mask, 'largest'), [[0, 0, 10, 10]])

    acc = LocalizationAccumulator(thresholds=[0.5], fixed_threshold=0.5)
    acc.add(scoremap, gt, gt_class=1, predicted_classes=[1])
    summary = acc.summary()
    assert summary['gt_known_loc'] == 0.0  # largest component: the distractor
    # all contours: box [14, 14, 18, 18] (25 px) vs GT 16 px -> IoU 0.64
    assert summary['maxboxacc_per_iou'] == {'30': 1.0, '50': 1.0, '70': 0.0}


def test_top1_top5_and_gt_known_logic():
    good = np.zeros((20, 20))
    good[0:10, 0:10] = 1.0  # box [0, 0, 10, 10] vs GT [0, 0, 9, 9]: IoU 100/121
    bad = np.zeros((20, 20))
    bad[12:20, 12:20] = 1.0
    gt = [[0, 0, 9, 9]]
    acc = LocalizationAccumulator(thresholds=[0.5], fixed_threshold=0.5)
    acc.add(good, gt, 3, [3, 1, 2, 4, 5])   # located, top-1 right
    acc.add(good, gt, 3, [1, 3, 2, 4, 5])   # located, top-5 right
    acc.add(good, gt, 3, [1, 2, 4, 5, 6])   # located, class wrong
    acc.add(bad, gt, 3, [3, 1, 2, 4, 5])    # class right, box wrong
    s = acc.summary()
    assert s['num_images'] == 4
    assert s['gt_known_loc'] == 0.75
    assert s['top1_loc'] == 0.25
    assert s['top5_loc'] == 0.5
    assert s['top1_cls'] == 0.5
    assert s['top5_cls'] == 0.75


def test_maxboxacc_v2_picks_the_best_threshold_per_iou():
    """Three images whose boxes are right at different thresholds.

    Levels: tau 0.1 -> u8 level 25 keeps the 0.3 square (u8 76); tau 0.8 ->
    level 204 keeps only the 1.0 square. Boxes: [0,0,29,29] (900 px) and
    [0,0,8,8] (81 px).
    P, R: GT [0,0,19,19] (400 px): IoU 400/900 = 0.44 at 0.1, 81/400 = 0.20 at 0.8.
    Q:    GT [0,0,7,7] (64 px):    IoU 64/900 = 0.07 at 0.1, 64/81 = 0.79 at 0.8.
    BoxAcc(0.1) = (2/3, 0, 0); BoxAcc(0.8) = (1/3, 1/3, 1/3).
    """
    scoremap = nested_squares([(29, 0.3), (8, 1.0)])
    acc = LocalizationAccumulator(thresholds=[0.1, 0.8], fixed_threshold=0.1)
    acc.add(scoremap, [[0, 0, 19, 19]], 1, [1])
    acc.add(scoremap, [[0, 0, 19, 19]], 1, [1])
    acc.add(scoremap, [[0, 0, 7, 7]], 1, [1])
    s = acc.summary()
    assert s['maxboxacc_per_iou'] == pytest.approx({'30': 2 / 3, '50': 1 / 3, '70': 1 / 3})
    assert s['best_threshold_per_iou'] == {'30': 0.1, '50': 0.8, '70': 0.8}
    assert s['maxboxacc_v2'] == pytest.approx(4 / 9)
    # better than any single threshold: (2/3 + 0 + 0) / 3 and (1/3 * 3) / 3
    assert s['maxboxacc_v2'] > max(2 / 9, 1 / 3)


def test_accumulator_state_round_trip():
    scoremap = nested_squares([(29, 0.3), (8, 1.0)])
    straight = LocalizationAccumulator(thresholds=np.arange(0, 1, 0.01))
    for gt in ([[0, 0, 19, 19]], [[0, 0, 7, 7]]):
        straight.add(scoremap, gt, 1, [1])
    resumed = LocalizationAccumulator(thresholds=np.arange(0, 1, 0.01))
    resumed.add(scoremap, [[0, 0, 19, 19]], 1, [1])
    again = LocalizationAccumulator(thresholds=np.arange(0, 1, 0.01))
    again.load_state(resumed.state())
    again.add(scoremap, [[0, 0, 7, 7]], 1, [1])
    assert again.summary() == straight.summary()
    with pytest.raises(ValueError, match='threshold'):
        LocalizationAccumulator(thresholds=[0.5]).load_state(resumed.state())
