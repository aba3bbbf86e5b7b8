"""Confident-region thresholds 'auto': placed around the seed optimum of the same maps."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from stage1_cam import pseudo_labels
from test_pseudo_labels import checkpoint, demo_root  # noqa: F401 (shared fixtures)
from stage1_cam.datasets.voc import DemoSource
from stage1_cam.evaluation import evaluate_seed_dir
from stage1_cam.thresholds import PeakHistogram, confident_thresholds, resolve_refine

REPO = Path(__file__).resolve().parents[1]
CONFIG = str(REPO / 'configs' / 'stage1' / 'bas_mobilenetv2_demo.py')
AUTO = {'pseudo_label.refine.fg_threshold': 'auto', 'pseudo_label.refine.bg_threshold': 'auto',
        'pseudo_label.scales': (1.0,)}


def test_without_a_curve_fg_is_the_optimum_and_bg_sits_irns_distance_below_it():
    assert confident_thresholds(0.15) == (0.15, 0.05)   # IRN's background threshold
    previous = (0.0, 0.0)
    for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
        fg, bg = confident_thresholds(t)
        assert fg == t and 0 < bg < fg < 1, t
        assert fg >= previous[0] and bg >= previous[1]
        previous = (fg, bg)
    for t in (0.0, 0.01, 0.99, 1.0):   # the sweep's ends still give a usable pair
        fg, bg = confident_thresholds(t)
        assert 0 < bg < fg < 1


def _curve(thresholds, peak, slope_below, slope_above=2.0):
    """A seed-mIoU curve peaking at ``peak``, falling linearly on either side."""
    miou = [0.6 - (peak - t) * slope_below if t <= peak else 0.6 - (t - peak) * slope_above
            for t in thresholds]
    return {'thresholds': list(thresholds), 'miou': miou}


def test_with_a_curve_bg_is_the_floor_of_the_near_optimal_band():
    thresholds = np.round(np.arange(0.0, 0.951, 0.01), 2).tolist()
    # 10 points within 0.10 of the optimum on a steep curve, 0.40 on a flat one
    assert confident_thresholds(0.6, _curve(thresholds, 0.6, 1.0)) == (0.6, 0.5)
    assert confident_thresholds(0.6, _curve(thresholds, 0.6, 0.25)) == (0.6, 0.2)
    # a narrower band, a higher floor
    assert confident_thresholds(0.6, _curve(thresholds, 0.6, 0.25), band=0.05) == (0.6, 0.4)
    # the band ends at the first threshold that falls out of it (a dip below is not bridged)
    dipped = _curve(thresholds, 0.6, 0.25)
    dipped['miou'][thresholds.index(0.45)] = 0.3
    assert confident_thresholds(0.6, dipped)[1] == 0.46
    # an undefined score (no class present at that threshold) ends it too
    dipped['miou'][thresholds.index(0.45)] = None
    assert confident_thresholds(0.6, dipped)[1] == 0.46
    # a curve too steep for any band still leaves bg below fg
    assert confident_thresholds(0.6, _curve(thresholds, 0.6, 50.0), band=0.0) == (0.6, 0.59)


def test_resolve_replaces_only_auto_and_refuses_crossed_pairs():
    assert resolve_refine({'fg_threshold': 'auto', 'bg_threshold': 0.1}, 0.15) == \
        {'fg_threshold': 0.15, 'bg_threshold': 0.1}
    derived = {'seed_threshold': 0.6, 'sweep': _curve(np.round(np.arange(0, 0.96, 0.01), 2), 0.6, 1.0)}
    assert resolve_refine({'fg_threshold': 'auto', 'bg_threshold': 'auto'}, derived) == \
        {'fg_threshold': 0.6, 'bg_threshold': 0.5}
    with pytest.raises(ValueError, match='bg must be below fg'):
        resolve_refine({'fg_threshold': 'auto', 'bg_threshold': 0.5}, 0.15)


def test_otsu_splits_a_bimodal_map_between_its_modes():
    rng = np.random.default_rng(0)
    background = rng.normal(0.2, 0.05, (1, 60, 100))
    objects = rng.normal(0.8, 0.05, (1, 40, 100))
    histogram = PeakHistogram()
    histogram.add(np.clip(np.concatenate([background, objects], axis=1), 0, 1))
    assert 0.4 < histogram.otsu() < 0.6


def test_auto_thresholds_come_from_the_sweep_of_the_same_maps_and_resume_reuses_them(
        demo_root, checkpoint, tmp_path, monkeypatch):
    out = tmp_path / 'out'
    manifest = pseudo_labels.run_from_config(CONFIG, checkpoint, out, data_root=str(demo_root),
                                             save_cams=True, cfg_options=AUTO)
    derived = manifest['thresholds_derived']
    assert derived['rule'] == 'seed sweep (ground truth)'
    assert derived['num_images_with_gt'] == len(DemoSource(str(demo_root)).ids)
    # the seed optimum is that of the maps written into cams/ (same model, same scales;
    # saved as float16, so a tie between neighbouring thresholds may break either way)
    sweep = evaluate_seed_dir(out / 'cams', DemoSource(str(demo_root)),
                              thresholds=np.round(np.arange(0.0, 0.951, 0.01), 2),
                              progress=False)
    at_derived = sweep['miou'][sweep['thresholds'].index(derived['seed_threshold'])]
    assert abs(derived['seed_threshold'] - sweep['best_threshold']) <= 0.02
    assert at_derived == pytest.approx(sweep['best_miou'], abs=0.005)
    assert derived['seed_miou'] == pytest.approx(sweep['best_miou'], abs=0.005)
    # the pair is read off that sweep's curve (fg its optimum, bg the floor of its band)
    assert derived['band'] == 0.10 and derived['sweep']['thresholds'] == sweep['thresholds']
    fg, bg = confident_thresholds(derived['seed_threshold'], derived['sweep'], derived['band'])
    assert (manifest['refine']['fg_threshold'], manifest['refine']['bg_threshold']) == (fg, bg)
    assert fg == derived['seed_threshold'] and bg < fg
    below = [m for t, m in zip(sweep['thresholds'], sweep['miou']) if bg <= t <= fg]
    assert min(below) >= sweep['best_miou'] - 0.10 - 0.01   # float16 maps: 1 point slack
    assert manifest['refine_requested']['fg_threshold'] == 'auto'

    # a resumed run of the same folder does not sweep again and keeps the pair
    (out / 'labels' / f'{manifest["ids_done"][0]}.png').unlink()

    def no_sweep(*args, **kwargs):
        raise AssertionError('resume swept again')
    monkeypatch.setattr(pseudo_labels, 'derive_thresholds', no_sweep)
    again = pseudo_labels.run_from_config(CONFIG, checkpoint, out, data_root=str(demo_root),
                                          save_cams=True, cfg_options=AUTO)
    assert again['complete'] and again['refine'] == manifest['refine']
    # another band is another derivation: not taken from the folder's manifest
    with pytest.raises(AssertionError, match='resume swept again'):
        pseudo_labels.run_from_config(CONFIG, checkpoint, out, data_root=str(demo_root),
                                      save_cams=True,
                                      cfg_options={**AUTO, 'pseudo_label.threshold_band': 0.05})


def test_without_ground_truth_the_pair_follows_otsu_of_the_maps(demo_root, checkpoint, tmp_path):
    root = tmp_path / 'no_gt'
    shutil.copytree(demo_root, root)
    shutil.rmtree(root / 'SegmentationClass')
    manifest = pseudo_labels.run_from_config(CONFIG, checkpoint, tmp_path / 'out',
                                             data_root=str(root), cfg_options=AUTO)
    derived = manifest['thresholds_derived']
    assert derived['rule'].startswith('Otsu') and derived['num_images_with_gt'] == 0
    assert derived['seed_threshold'] == derived['otsu_threshold']
    assert 'sweep' not in derived
    assert (manifest['refine']['fg_threshold'], manifest['refine']['bg_threshold']) == \
        confident_thresholds(derived['otsu_threshold'])
