"""Seeds and CRF pseudo labels (stage1_cam.refine): contracts and measured quality."""
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from stage1_cam.evaluation import ConfusionMatrix, threshold_sweep
from wsss_core.io import IGNORE_INDEX, read_label_png
from stage1_cam.refine import (DEFAULT_REFINE_CFG, alpha_for_threshold, background_scores,
                               make_pseudo_label, seed_label)
from wsss_core.crf import CRF_PRESETS, crf_params, dense_crf

SIZE = 100


def disc(center, radius, size=SIZE):
    yy, xx = np.mgrid[:size, :size]
    return (yy - center[0]) ** 2 + (xx - center[1]) ** 2 < radius ** 2


def edge_scene(seed=0):
    """A red disc on a blue background (sharp colour edge, mild noise) and a
    map of the same disc shifted 8 px right and blurred: a CAM-like map whose
    boundary misses the object's edge."""
    rng = np.random.default_rng(seed)
    truth = disc((50, 45), 28)
    colours = np.where(truth[..., None], [200, 60, 40], [40, 90, 170]).astype(np.float64)
    image = np.clip(colours + rng.normal(0, 3, colours.shape), 0, 255).astype(np.uint8)
    blurred = ndimage.gaussian_filter(disc((50, 53), 28).astype(np.float64), 4)
    return image, truth, (blurred / blurred.max())[None].astype(np.float32)


# -- background scores and seeds ---------------------------------------------

def test_background_scores_threshold_and_power():
    maps = np.array([[[0.0, 0.5], [1.0, 0.2]], [[0.1, 0.25], [0.0, 0.9]]], np.float32)
    const = background_scores(maps, 'threshold', threshold=0.3)
    assert const.shape == (3, 2, 2) and const.dtype == np.float32
    np.testing.assert_allclose(const[0], 0.3)
    np.testing.assert_array_equal(const[1:], maps)
    power = background_scores(maps, 'power', alpha=2.0)
    np.testing.assert_allclose(power[0], [[0.81, 0.25], [0.0, 0.01]], atol=1e-6)
    none = background_scores(np.zeros((0, 2, 2), np.float32), 'power')
    np.testing.assert_allclose(none, np.ones((1, 2, 2)))
    with pytest.raises(ValueError, match='mode'):
        background_scores(maps, 'constant')


def test_alpha_for_threshold_splits_where_the_threshold_does():
    assert alpha_for_threshold(0.5) == pytest.approx(1.0)
    for t in (0.1, 0.3, 0.45):
        m = np.array([[[t - 0.01, t + 0.01]]], np.float32)
        bg = background_scores(m, 'power', alpha=alpha_for_threshold(t))[0]
        assert bg[0, 0] > m[0, 0, 0] and bg[0, 1] < m[0, 0, 1]
    with pytest.raises(ValueError):
        alpha_for_threshold(1.0)


def test_seed_label_class_space_and_ties():
    maps = np.array([[[0.9, 0.3, 0.1]], [[0.2, 0.6, 0.15]]], np.float32)  # classes 4 and 17
    seed = seed_label(maps, [4, 17], threshold=0.15)
    assert seed.dtype == np.uint8 and seed.shape == (1, 3)
    # 0.15 ties with the threshold -> background, as IRN's argmax does
    np.testing.assert_array_equal(seed, [[4, 17, 0]])
    np.testing.assert_array_equal(seed_label(maps, [4, 17], threshold=0.95), [[0, 0, 0]])
    empty = seed_label(np.zeros((0, 1, 3), np.float32), [])
    np.testing.assert_array_equal(empty, [[0, 0, 0]])
    with pytest.raises(ValueError, match='2 maps for 1 classes'):
        seed_label(maps, [4])


# -- CRF parameters and inputs -----------------------------------------------

def test_crf_presets_hold_the_published_numbers():
    label, soft = CRF_PRESETS['label'], CRF_PRESETS['softmax']
    assert (label['gt_prob'], label['gauss_sxy'], label['gauss_compat'], label['bilateral_sxy'],
            label['bilateral_srgb'], label['bilateral_compat'], label['iterations']) == \
        (0.7, 3, 3, 50, 5, 10, 10)
    assert (soft['gauss_sxy'], soft['gauss_compat'], soft['bilateral_sxy'],
            soft['bilateral_srgb'], soft['bilateral_compat'], soft['iterations']) == \
        (3, 3, 80, 13, 10, 10)


def test_crf_params_override_and_validate():
    params = crf_params('label', {'bilateral_srgb': 7})
    assert params['bilateral_srgb'] == 7 and params['bilateral_sxy'] == 50
    assert crf_params('softmax', 'deeplab')['bilateral_sxy'] == 67
    assert CRF_PRESETS['label']['bilateral_srgb'] == 5  # the preset itself is untouched
    with pytest.raises(ValueError, match='unknown CRF parameter'):
        crf_params('label', {'srgb': 7})
    with pytest.raises(ValueError, match='unknown CRF preset'):
        crf_params('label', 'nope')
    with pytest.raises(ValueError, match="takes a 'softmax' unary"):
        crf_params('label', 'softmax')


def test_dense_crf_refuses_non_uint8_images_and_accepts_views():
    image, _, maps = edge_scene()
    seed = (maps[0] > 0.3).astype(np.int64)
    with pytest.raises(ValueError, match='uint8'):
        dense_crf(image.astype(np.float32) - 120, 'label', seed, 2)
    with pytest.raises(ValueError, match='HxW'):
        dense_crf(image[:50], 'label', seed, 2)
    with pytest.raises(ValueError, match='n_labels'):
        dense_crf(image, 'label', seed)
    # a flipped (non-contiguous) view gives what its contiguous copy gives
    view = image[:, ::-1]
    assert not view.flags['C_CONTIGUOUS']
    q_view = dense_crf(view, 'label', seed[:, ::-1], 2)
    q_copy = dense_crf(np.ascontiguousarray(view), 'label', seed[:, ::-1].copy(), 2)
    np.testing.assert_allclose(q_view, q_copy)
    assert q_view.shape == (2,) + seed.shape and q_view.dtype == np.float32
    np.testing.assert_allclose(q_view.sum(axis=0), 1.0, atol=1e-4)


def boundary_error(label, truth):
    """Pixels whose object/background decision disagrees with the true edge."""
    return int(((label != 0) != truth).sum())


@pytest.mark.parametrize('kind', ['label', 'softmax'])
def test_crf_moves_boundary_onto_the_colour_edge(kind):
    image, truth, maps = edge_scene()
    seed = (maps[0] > 0.3).astype(np.int64)
    if kind == 'label':
        q = dense_crf(image, 'label', seed, n_labels=2)
        before = boundary_error(seed, truth)
    else:
        probs = background_scores(maps, 'power', alpha=1.0)
        probs /= probs.sum(axis=0, keepdims=True)
        q = dense_crf(image, 'softmax', probs)
        before = boundary_error(probs.argmax(axis=0), truth)
    after = boundary_error(q.argmax(axis=0), truth)
    assert before > 400  # the input is really off (8 px shift of a 28 px disc)
    assert after < 0.2 * before, (kind, before, after)


@pytest.mark.parametrize('cfg', [{'scheme': 'irn'}, {'scheme': 'softmax'},
                                 {'scheme': 'softmax', 'crf': 'softmax', 'alpha': 2.0}])
def test_pseudo_label_aligns_to_edges(cfg):
    image, truth, maps = edge_scene(seed=1)
    label = make_pseudo_label(image, maps, [7], cfg)
    assert label.dtype == np.uint8 and label.shape == truth.shape
    assert set(np.unique(label)) <= {0, 7, IGNORE_INDEX}
    decided = label != IGNORE_INDEX
    assert decided.mean() > 0.9
    seed_error = boundary_error(seed_label(maps, [7], 0.3), truth)
    assert boundary_error(np.where(decided, label, 0), truth) < 0.2 * seed_error


# -- pseudo-label contract ----------------------------------------------------

def two_object_scene():
    """Two coloured discs on grey; maps for classes 3 and 15 of a 20-class set."""
    rng = np.random.default_rng(2)
    a, b = disc((30, 30), 18), disc((68, 70), 20)
    image = np.full((SIZE, SIZE, 3), 128.0)
    image[a] = [220, 40, 40]
    image[b] = [40, 200, 60]
    image = np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    maps = np.stack([ndimage.gaussian_filter(m.astype(np.float64), 5) for m in (a, b)])
    maps /= maps.max(axis=(1, 2), keepdims=True)
    return image, maps.astype(np.float32), a, b


@pytest.mark.parametrize('scheme', ['irn', 'softmax'])
def test_only_present_classes_appear(scheme):
    image, maps, a, b = two_object_scene()
    # class 15 has a map of zeros: it may vanish, but no other class can appear
    maps[1] = 0.0
    label = make_pseudo_label(image, maps, np.array([3, 15]), {'scheme': scheme})
    assert label.dtype == np.uint8 and label.shape == (SIZE, SIZE)
    assert set(np.unique(label)) <= {0, 3, 15, IGNORE_INDEX}
    assert (label[a] == 3).mean() > 0.9
    assert not (label == 15).any()


def test_no_classes_gives_all_background():
    image, _, _, _ = two_object_scene()
    label = make_pseudo_label(image, np.zeros((0, SIZE, SIZE), np.float32), [])
    assert label.dtype == np.uint8 and label.shape == (SIZE, SIZE) and not label.any()


def test_irn_scheme_marks_the_band_between_thresholds_uncertain():
    """Map 1.0 in a core, 0.15 in a ring (between bg 0.05 and fg 0.30), 0
    outside; each region has its own colour, so both CRFs keep the regions.
    The ring is neither confidently foreground nor background: 255."""
    rng = np.random.default_rng(3)
    core, outer = disc((50, 50), 15), disc((50, 50), 38)
    colours = np.where(core[..., None], [200, 50, 50],
                       np.where(outer[..., None], [60, 170, 60], [50, 60, 190]))
    image = np.clip(colours + rng.normal(0, 2, colours.shape), 0, 255).astype(np.uint8)
    ring = outer & ~disc((50, 50), 18)
    outside = ~disc((50, 50), 41)
    maps = np.where(core, 1.0, np.where(outer, 0.15, 0.0))[None].astype(np.float32)
    label = make_pseudo_label(image, maps, [5])
    assert (label[core] == 5).mean() > 0.95
    assert (label[ring] == IGNORE_INDEX).mean() > 0.95
    assert (label[outside] == 0).mean() > 0.95
    # with the band closed (fg threshold below the ring value) the ring becomes class 5
    closed = make_pseudo_label(image, maps, [5], {'fg_threshold': 0.1})
    assert (closed[ring] == 5).mean() > 0.95


def test_softmax_scheme_confidence_controls_uncertainty():
    image, maps, _, _ = two_object_scene()
    loose = make_pseudo_label(image, maps, [3, 15], {'scheme': 'softmax', 'confidence': 0.5})
    strict = make_pseudo_label(image, maps, [3, 15], {'scheme': 'softmax', 'confidence': 0.999})
    assert (loose == IGNORE_INDEX).sum() < (strict == IGNORE_INDEX).sum()
    decided = strict != IGNORE_INDEX
    np.testing.assert_array_equal(strict[decided], loose[decided])


def test_refine_cfg_is_validated():
    image, maps, _, _ = two_object_scene()
    with pytest.raises(ValueError, match='unknown refine option'):
        make_pseudo_label(image, maps, [3, 15], {'fg_thres': 0.3})
    with pytest.raises(ValueError, match='scheme'):
        make_pseudo_label(image, maps, [3, 15], {'scheme': 'psa'})
    with pytest.raises(ValueError, match='unknown CRF parameter'):
        make_pseudo_label(image, maps, [3, 15], {'crf_overrides': {'srgb': 3}})
    with pytest.raises(ValueError, match='at image size'):
        make_pseudo_label(image[:50], maps, [3, 15])
    with pytest.raises(ValueError, match='uint8'):
        make_pseudo_label(image / 255.0, maps, [3, 15])
    assert set(DEFAULT_REFINE_CFG) >= {'fg_threshold', 'bg_threshold', 'confidence', 'crf'}


# -- real VOC images ------------------------------------------------------------

def coarse_map(mask, stride=16):
    """A CAM stand-in from a GT mask: the class's share of each stride x stride
    cell (a stride-16 feature map), lightly smoothed, bilinearly upsampled to
    the image and max-normalised. The boundary is right only to a cell."""
    height, width = mask.shape
    pad_h, pad_w = -height % stride, -width % stride
    padded = np.pad(mask.astype(np.float32), ((0, pad_h), (0, pad_w)))
    cells = padded.reshape(padded.shape[0] // stride, stride, padded.shape[1] // stride,
                           stride).mean(axis=(1, 3))
    cells = ndimage.gaussian_filter(cells, 1.0)
    full = np.asarray(Image.fromarray(cells).resize(padded.shape[::-1], Image.BILINEAR))
    full = np.clip(full[:height, :width], 0, None)
    return full / max(float(full.max()), 1e-6)


@pytest.fixture(scope='module')
def real_samples(real_data, tmp_path_factory):
    """Every real VOC image with official GT in the shared samples, as
    (image, classes, gt): 2007_000063 (full size, read through the VOC source
    with its XML labels) and 14 VOC val images cropped to 513x513 by
    DeepLabV3Plus-Pytorch (classes taken from their masks)."""
    from stage1_cam.datasets.base import read_image_rgb
    from stage1_cam.datasets.voc import VOCSource

    split = tmp_path_factory.mktemp('voc_split') / 'one.txt'
    split.write_text('2007_000063\n')
    source = VOCSource(real_data / 'icevision' / 'samples' / 'voc', split_file=split)
    samples = [(source.image('2007_000063'), source.labels('2007_000063'),
                source.gt_mask('2007_000063'))]
    vainf = real_data / 'vainf-deeplabv3plus' / 'VOClike'
    for path in sorted((vainf / 'JPEGImages').glob('*.png')):
        gt = read_label_png(vainf / 'SegmentationClass' / path.name)
        classes = [int(c) for c in np.unique(gt) if c not in (0, IGNORE_INDEX)]
        samples.append((read_image_rgb(path), classes, gt))
    return samples


@pytest.fixture(scope='module')
def real_scores(real_samples):
    """Seed sweep and pseudo-label scores over the real images (computed once)."""
    assert len(real_samples) >= 10
    items = []
    for image, classes, gt in real_samples:
        maps = np.stack([coarse_map(gt == c) for c in classes])
        items.append((image, maps, classes, gt))
    sweep = threshold_sweep((maps, classes, gt) for _, maps, classes, gt in items)
    threshold = DEFAULT_REFINE_CFG['fg_threshold']
    # both schemes work at the seed's operating point: the IRN scheme's fg
    # threshold is the seed threshold; the softmax scheme's power background
    # splits at the same map value
    cfgs = {'irn': {'scheme': 'irn'},
            'softmax': {'scheme': 'softmax', 'alpha': alpha_for_threshold(threshold)}}
    fixed_seed = ConfusionMatrix(21)
    labels = {scheme: ConfusionMatrix(21) for scheme in cfgs}
    for image, maps, classes, gt in items:
        fixed_seed.update(seed_label(maps, classes, threshold), gt)
        for scheme, cm in labels.items():
            label = make_pseudo_label(image, maps, classes, cfgs[scheme])
            assert set(np.unique(label)) <= set(classes) | {0, IGNORE_INDEX}
            cm.update(label, gt)
    return sweep, fixed_seed, labels


def test_real_voc_gt_labels_match(real_samples):
    image, classes, gt = real_samples[0]
    assert classes == [9, 12]  # chair, dog (XML) = the classes in the official mask
    assert image.shape[:2] == gt.shape == (375, 500)


@pytest.mark.parametrize('scheme', ['irn', 'softmax'])
def test_crf_pseudo_labels_beat_coarse_seeds_on_real_images(real_scores, scheme):
    """On the 15 real VOC images the CRF label (pixels it decides) scores a
    higher mIoU than the coarse seed, both at the same threshold (0.30) and
    at the best threshold of the sweep (chosen on the GT itself).

    Not every image gains: on 2007_000063 (a black dog on a dark chair) the
    colour kernel cannot separate the two classes and the IRN label scores
    below the seed; the claim is about the set."""
    sweep, fixed_seed, labels = real_scores
    cm = labels[scheme]
    print(f'{scheme}: seed@0.30 {fixed_seed.miou():.3f}, best seed {sweep["best_miou"]:.3f} '
          f'@{sweep["best_threshold"]:.2f}, CRF label {cm.miou():.3f} '
          f'(coverage {cm.coverage():.3f}, 255->bg {cm.miou("background"):.3f})')
    assert cm.coverage() > 0.85  # the gain is not bought by abstaining
    assert cm.miou() > fixed_seed.miou() + 0.01
    assert cm.miou() > sweep['best_miou']
