"""Guard: BAS trained briefly on real photographs puts its generator maps on the objects.

BAS once lit the background around people, buses and tables on real photos (seed mIoU 36 vs
CAM's 64) while winning on the synthetic demo. This trains the shipped real-photo BAS config
for a few epochs on a small set of real VOC objects pasted on blurred real photos
(``../shared/benchmarks/make_voc_composites.py``) and checks, class by class, that the
generator's map is higher inside that class's objects than outside them.

The set has 160 training images, so every class is seen in about ten of them: with 96 (some
classes in 6 images) a class the 6-epoch budget barely trains decided the test by chance
(cow 0.45 inside vs 0.51 outside with the default, 0.63 vs 0.56 with 'running'). At 160, the
reference's BatchNorm (background_norm='batch') still fails it on 5 classes (person 0.38 vs
0.56, aeroplane 0.32 vs 0.53, horse, motorbike, bird), the default passes every class (lowest
margin: bicycle 0.76 vs 0.64).
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stage1_cam.datasets.voc import VOCSource
from stage1_cam.maps import multiscale_maps
from stage1_cam.training import train

REPO = Path(__file__).resolve().parents[1]
SIZE = 160
NUM_TRAIN = 160
FAST = {
    'train_dataloader.batch_size': 8,
    'train_dataloader.dataset.pipeline.2.size': SIZE,
    'default_hooks.logger.interval': 4,
    'default_hooks.checkpoint.interval': 100,
    'train_cfg.max_epochs': 6, 'param_scheduler.0.end': 6,
}


@pytest.fixture(scope='module')
def photos(real_data, tmp_path_factory):
    script = real_data.parent.parent / 'benchmarks' / 'make_voc_composites.py'
    if not script.is_file():
        pytest.skip(f'{script} not found')
    out = tmp_path_factory.mktemp('photos')
    subprocess.run([sys.executable, str(script), str(out), '--num-train', str(NUM_TRAIN), '--num-val', '1',
                    '--size', str(SIZE), '--seed', '11'], check=True, capture_output=True)
    return out / 'VOC2012'


def inside_outside(model, source, kind):
    """{class: (mean map inside its objects, mean map elsewhere)} over the split."""
    inside, outside = {}, {}
    for image_id in source.ids:
        classes = list(source.labels(image_id))
        gt = source.gt_mask(image_id)
        maps = multiscale_maps(model, source.image(image_id), classes, kind=kind, scales=(1.0,))
        for index, cls in enumerate(classes):
            on, off = gt == cls, (gt != cls) & (gt != 255)
            if on.any() and off.any():
                inside.setdefault(cls, []).append(float(maps[index][on].mean()))
                outside.setdefault(cls, []).append(float(maps[index][off].mean()))
    return {c: (np.mean(inside[c]), np.mean(outside[c])) for c in inside}


def test_bas_generator_maps_are_higher_inside_each_class_than_outside(photos, tmp_path):
    runner = train(str(REPO / 'configs/stage1/bas_mobilenetv2_real.py'),
                   work_dir=str(tmp_path / 'bas'), data_root=str(photos), cfg_options=FAST)
    model = runner.model.eval()
    source = VOCSource(str(photos), split='train')
    stats = inside_outside(model, source, 'bas')
    names = ['background'] + list(source.class_names)
    assert len(stats) >= 10, stats   # the set holds most of the generator's 15 classes
    failing = {names[c]: (round(i, 3), round(o, 3)) for c, (i, o) in stats.items() if i <= o}
    assert not failing, f'generator maps not higher inside the objects than outside: {failing}'
    # and on average clearly so (max-normalised maps in [0, 1])
    margin = np.mean([i - o for i, o in stats.values()])
    assert margin > 0.1, stats
