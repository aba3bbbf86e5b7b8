"""WSOL box metrics: Top-1/Top-5/GT-known Loc and MaxBoxAccV2.

Definitions follow ``clovaai/wsolevaluation`` (evaluation.py) and the
classic ADL/BAS evaluation:

* a score map is min-max normalised to [0, 1] (``normalize_scoremap``);
* thresholding at tau happens on its uint8 version: a pixel is foreground
  iff ``uint8(255 * map) > int(tau * max(uint8 map))`` (cv2.THRESH_BINARY);
* a box is ``[x, y, x + w, y + h]`` of a region's bounding rectangle, with
  the end clipped to ``W - 1`` / ``H - 1``; an empty mask gives ``[0, 0, 0, 0]``;
* IoU counts pixels inclusively (the +1 convention): area = (x2-x1+1)(y2-y1+1);
  several GT boxes: the best IoU over predicted x GT boxes counts;
* MaxBoxAccV2: boxes of *all* contours at each tau; BoxAcc(tau, delta) = share
  of images with best IoU >= delta; MaxBoxAcc(delta) = max over tau, tau
  chosen per delta; the score is the mean over delta in {0.3, 0.5, 0.7};
* fixed-threshold metrics (GT-known, Top-1, Top-5 Loc): the box of the
  largest connected component at one threshold; IoU >= 0.5, plus the right
  class in the top 1 / top 5 for Top-1 / Top-5 Loc.
"""
import cv2
import numpy as np

EMPTY_BOX = np.zeros((1, 4), np.float64)


def normalize_scoremap(scoremap):
    """Min-max normalise to [0, 1]; a constant or NaN map becomes all zeros."""
    scoremap = np.asarray(scoremap, dtype=np.float64)
    if np.isnan(scoremap).any() or scoremap.max() == scoremap.min():
        return np.zeros_like(scoremap)
    scoremap = scoremap - scoremap.min()
    return scoremap / scoremap.max()


def to_uint8(scoremap):
    """The evaluator's uint8 image of a [0, 1] map (truncation, as the benchmark)."""
    scoremap = np.asarray(scoremap)
    if scoremap.ndim != 2 or scoremap.min() < 0 or scoremap.max() > 1:
        raise ValueError('score maps must be 2-D with values in [0, 1]; min-max normalise first '
                         '(normalize_scoremap)')
    return (scoremap * 255).astype(np.uint8)


def threshold_level(image_u8, tau):
    """The integer level of threshold ``tau`` (relative to the map's maximum)."""
    return int(tau * int(image_u8.max()))


def mask_at_level(image_u8, level):
    return image_u8 > level


def _clip_box(x, y, w, h, height, width):
    return [x, y, min(x + w, width - 1), min(y + h, height - 1)]


def boxes_from_mask(mask, mode='all'):
    """Boxes (K, 4) of a binary mask.

    ``mode='all'``: every contour's bounding rectangle (cv2.RETR_TREE, so
    holes too, as the benchmark); ``'largest'``: the bounding rectangle of
    the connected component (8-connected) with the most pixels.
    """
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    height, width = mask.shape
    if not mask.any():
        return EMPTY_BOX.copy()
    if mode == 'all':
        contours = cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[-2]
        return np.array([_clip_box(*cv2.boundingRect(c), height, width) for c in contours],
                        np.float64)
    if mode == 'largest':
        _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))  # label 0 is the background
        x, y, w, h = (int(v) for v in stats[best, :4])
        return np.array([_clip_box(x, y, w, h, height, width)], np.float64)
    raise ValueError(f"mode must be 'all' or 'largest', got {mode!r}")


def box_iou(boxes_a, boxes_b):
    """IoU matrix (A, B) of x1,y1,x2,y2 boxes with inclusive pixel ends (+1).

    A box with a non-positive area has IoU 0 with everything.
    """
    a = np.asarray(boxes_a, np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1 + 1, 0, None) * np.clip(y2 - y1 + 1, 0, None)
    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    union = area_a[:, None] + area_b[None, :] - inter
    valid = (area_a[:, None] > 0) & (area_b[None, :] > 0) & (union > 0)
    return np.where(valid, inter / np.where(union > 0, union, 1), 0.0)


def best_iou(pred_boxes, gt_boxes):
    """Max IoU over every (predicted, ground-truth) pair."""
    return float(box_iou(pred_boxes, gt_boxes).max())


def default_thresholds(step=0.001):
    """The benchmark's tau list: np.arange(0, 1, step) (1000 values at 0.001)."""
    return np.arange(0, 1, step)


class LocalizationAccumulator:
    """Accumulates one split's WSOL metrics, image by image.

    ``thresholds``: the tau sweep of MaxBoxAccV2; ``iou_thresholds``: the
    deltas (fractions); ``fixed_threshold``: tau of the classic metrics.
    ``add`` takes a [0, 1] map (already min-max normalised, at the image's
    size), the image's GT boxes (N, 4), its class and the top-k predicted
    classes (best first).
    """

    def __init__(self, thresholds=None, iou_thresholds=(0.3, 0.5, 0.7), fixed_threshold=0.1,
                 loc_iou=0.5):
        self.thresholds = np.asarray(default_thresholds() if thresholds is None else thresholds,
                                     np.float64)
        self.iou_thresholds = np.asarray(iou_thresholds, np.float64)
        self.fixed_threshold = float(fixed_threshold)
        self.loc_iou = float(loc_iou)
        self.box_correct = np.zeros((len(self.thresholds), len(self.iou_thresholds)), np.int64)
        self.counts = {'images': 0, 'gt_known': 0, 'top1_loc': 0, 'top5_loc': 0,
                       'top1_cls': 0, 'top5_cls': 0}

    def best_ious_over_thresholds(self, image_u8, gt_boxes):
        """Best IoU of all-contour boxes at every tau (each distinct level computed once)."""
        peak = int(image_u8.max())
        levels = np.array([int(tau * peak) for tau in self.thresholds])
        per_level = {level: best_iou(boxes_from_mask(mask_at_level(image_u8, level), 'all'),
                                     gt_boxes) for level in np.unique(levels)}
        return np.array([per_level[level] for level in levels])

    def add(self, scoremap, gt_boxes, gt_class, predicted_classes):
        image_u8 = to_uint8(scoremap)
        gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
        ious = self.best_ious_over_thresholds(image_u8, gt_boxes)
        self.box_correct += (ious[:, None] >= self.iou_thresholds[None, :])

        mask = mask_at_level(image_u8, threshold_level(image_u8, self.fixed_threshold))
        located = best_iou(boxes_from_mask(mask, 'largest'), gt_boxes) >= self.loc_iou
        predicted = [int(c) for c in predicted_classes]
        top1 = bool(predicted) and predicted[0] == int(gt_class)
        top5 = int(gt_class) in predicted[:5]
        self.counts['images'] += 1
        self.counts['gt_known'] += int(located)
        self.counts['top1_cls'] += int(top1)
        self.counts['top5_cls'] += int(top5)
        self.counts['top1_loc'] += int(located and top1)
        self.counts['top5_loc'] += int(located and top5)

    def state(self):
        """JSON-able state (for resuming an interrupted evaluation)."""
        return {'box_correct': self.box_correct.tolist(), 'counts': dict(self.counts)}

    def load_state(self, state):
        box_correct = np.asarray(state['box_correct'], np.int64)
        if box_correct.shape != self.box_correct.shape:
            raise ValueError('saved evaluation state has another threshold list')
        self.box_correct = box_correct
        self.counts = {k: int(v) for k, v in state['counts'].items()}

    def summary(self):
        """Metrics as fractions in [0, 1] (multiply by 100 for the papers' %)."""
        n = self.counts['images']
        if n == 0:
            raise ValueError('no image was evaluated')
        box_acc = self.box_correct / n  # (tau, delta)
        best = box_acc.argmax(axis=0)  # first tau reaching the max, per delta
        per_delta = {f'{round(100 * d)}': float(box_acc[best[i], i])
                     for i, d in enumerate(self.iou_thresholds)}
        return {
            'num_images': n,
            'top1_loc': self.counts['top1_loc'] / n,
            'top5_loc': self.counts['top5_loc'] / n,
            'gt_known_loc': self.counts['gt_known'] / n,
            'top1_cls': self.counts['top1_cls'] / n,
            'top5_cls': self.counts['top5_cls'] / n,
            'fixed_threshold': self.fixed_threshold,
            'maxboxacc_v2': float(np.mean(list(per_delta.values()))),
            'maxboxacc_per_iou': per_delta,
            'best_threshold_per_iou': {f'{round(100 * d)}': float(self.thresholds[best[i]])
                                       for i, d in enumerate(self.iou_thresholds)},
        }
