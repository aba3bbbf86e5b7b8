"""One precedence rule for every config loader (wsss_core.config): the file,
then --data-root, then --cfg-options (an explicit option always wins)."""
from pathlib import Path

from stage1_cam.config import load_stage1_config
from stage1_cam.pseudo_labels import source_config
from stage2_seg.config_utils import load as load_stage2_config
from wsss_pipeline.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
STAGE1 = REPO / 'configs' / 'stage1' / 'bas_mobilenetv2_demo.py'
STAGE2 = REPO / 'configs' / 'stage2' / 'deeplabv2_mobilenetv2_demo.py'
PIPELINE = REPO / 'configs' / 'pipeline' / 'demo.py'


def test_stage1_data_root_moves_every_source_and_options_win():
    cfg = load_stage1_config(STAGE1, data_root='/elsewhere')
    assert cfg.data_root == '/elsewhere'
    assert cfg.train_dataloader.dataset.source.data_root == '/elsewhere'
    # the pseudo-label step and the label reports read the moved source
    assert source_config(cfg, split='val')['data_root'] == '/elsewhere'

    cfg = load_stage1_config(STAGE1, data_root='/elsewhere', cfg_options={
        'train_dataloader.dataset.source.data_root': '/explicit'})
    assert cfg.train_dataloader.dataset.source.data_root == '/explicit'
    assert source_config(cfg)['data_root'] == '/explicit'


def test_stage2_data_root_then_options():
    cfg = load_stage2_config(str(STAGE2), data_root='/elsewhere')
    assert cfg.data_root == '/elsewhere'
    assert cfg.train_dataloader.dataset.img_dir == '/elsewhere/JPEGImages'
    cfg = load_stage2_config(str(STAGE2), data_root='/elsewhere',
                             cfg_options={'train_dataloader.dataset.img_dir': '/explicit/img'})
    assert cfg.train_dataloader.dataset.img_dir == '/explicit/img'


def test_pipeline_data_root_then_options():
    settings = load_settings(PIPELINE, data_root='/elsewhere')
    assert settings.dataset.data_root == '/elsewhere'
    settings = load_settings(PIPELINE, data_root='/elsewhere',
                             cfg_options={'dataset.data_root': '/explicit'})
    assert settings.dataset.data_root == '/explicit'
