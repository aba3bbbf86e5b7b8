"""Stage 2 checks its config before the Runner starts: class counts agree, the
image and label folders exist (with the flag that fixes each)."""
from pathlib import Path

import pytest

from stage1_cam.datasets.demo import generate_demo_dataset

REPO = Path(__file__).resolve().parents[1]
CONFIG = str(REPO / 'configs' / 'stage2' / 'deeplabv2_mobilenetv2_demo.py')


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo') / 'demo'
    generate_demo_dataset(root, seed=2, num_train=4, num_val=2)
    return root


def train_error(tmp_path, **kwargs):
    from stage2_seg.config_utils import ConfigError
    from stage2_seg.train import train
    with pytest.raises(ConfigError) as err:
        train(CONFIG, work_dir=str(tmp_path / 'work'), **kwargs)
    assert not (tmp_path / 'work').exists(), 'the Runner started before the config was checked'
    return str(err.value)


def test_missing_pseudo_label_folder_names_the_flag(demo, tmp_path):
    missing = tmp_path / 'not_made_yet' / 'labels'
    message = train_error(tmp_path, data_root=str(demo),
                          cfg_options={'train_dataloader.dataset.ann_dir': str(missing)})
    assert message == (f'train_dataloader: label folder {missing} not found; pass --pseudo-labels '
                       'OUT (the --out-dir of tools/make_pseudo_labels.py), or fix ann_dir in '
                       'the config.')


def test_missing_data_root_names_the_flag(tmp_path):
    message = train_error(tmp_path, data_root=str(tmp_path / 'nowhere'))
    assert message.startswith(f'train_dataloader: image folder {tmp_path}/nowhere/JPEGImages '
                              'not found; pass the dataset folder with --data-root DIR')


def test_head_class_count_must_match_the_dataset(demo, tmp_path):
    message = train_error(tmp_path, data_root=str(demo),
                          cfg_options={'model.decode_head.num_classes': 21})
    assert 'model.decode_head.num_classes is 21' in message
    assert 'has 7 classes (background included)' in message
