"""The rehearsal before a GPU run: configs/pipeline/voc.py and coco.py end to end
on the CPU (tools/rehearse.py), from tiny VOC/COCO sets of real photographs and
random ResNet-50/101 checkpoints in torchvision's V1 layout, to results.md.

One rehearsal of both pipelines runs per module (every method of each config;
about 3 minutes on 2 cores, most of it ResNet-101 DeepLab steps); the tests
check what it left behind and that only the allowed settings differ from the
real configs."""
import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch

from stage1_cam.config import load_stage1_config
from stage1_cam.datasets.voc import labels_from_xml
from stage2_seg.config_utils import load as load_stage2_config
from wsss_core.io import read_label_png
from wsss_core.torchvision_weights import PUBLISHED_V1_FILES
from wsss_pipeline.rehearsal import (PIPELINES, REHEARSAL_METHODS, command_line,
                                     random_v1_state_dict, rehearsal_options, rehearse)
from wsss_pipeline.settings import load_settings, stage1_config, stage1_options, stage2_options

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def rehearsal(real_data, tmp_path_factory):
    out = tmp_path_factory.mktemp('rehearsal')
    results = rehearse(real_data, out, pipelines=('voc', 'coco'), workers=1)
    return out, results


@pytest.mark.parametrize('pipeline', ['voc', 'coco'])
def test_both_pipelines_reach_results_md_with_every_method(rehearsal, pipeline):
    out, results = rehearsal
    methods = REHEARSAL_METHODS[pipeline]
    table = (out / pipeline / 'results.md').read_text()
    on_disk = json.loads((out / pipeline / 'results.json').read_text())
    assert list(on_disk['methods']) == list(results[pipeline]['methods']) == methods
    for title in {'voc': ('CAM', 'BAS', 'ICL', 'BAS+ICL'), 'coco': ('CAM', 'BAS')}[pipeline]:
        assert f'| {title} |' in table
    for method, row in on_disk['methods'].items():
        for key in ('seed_miou', 'label_miou', 'label_uncertain_share'):
            assert 0.0 <= row[key] <= 100.0, (method, key)
        assert set(row['seg_miou']) == {'single-scale', 'MS+flip+CRF'}
        assert all(0.0 <= v <= 100.0 for v in row['seg_miou'].values())
        record = json.loads((out / pipeline / method / 'train_cam' / 'step.json').read_text())
        assert record['result']['epochs'] == 1
    eval_split = {'voc': 'train', 'coco': 'train2014'}[pipeline]
    assert on_disk['eval_split'] == eval_split


def test_weights_are_found_as_torchvision_v1_files(rehearsal):
    out, _ = rehearsal
    checkpoints = out / 'torch' / 'hub' / 'checkpoints'
    for arch in ('resnet50', 'resnet101'):
        state = torch.load(checkpoints / PUBLISHED_V1_FILES[arch][0], weights_only=True)
        assert 'fc.weight' in state and not any(k.endswith('num_batches_tracked') for k in state)
    # stage 1 and stage 2 looked them up in the hub cache ($TORCH_HOME), as on a GPU machine;
    # CAM's frozen stem (frozen_stages=2) left the trained checkpoint's stem the file's
    pretrained = torch.load(checkpoints / 'resnet50-0676ba61.pth', weights_only=True)
    trained = torch.load(out / 'voc' / 'cam' / 'train_cam' / 'epoch_1.pth', weights_only=False,
                         map_location='cpu')['state_dict']
    assert torch.equal(trained['backbone.tap.0.weight'], pretrained['conv1.weight'])
    assert torch.equal(trained['backbone.tap.5.0.conv1.weight'], pretrained['layer2.0.conv1.weight'])
    assert not torch.equal(trained['backbone.later.0.conv1.weight'],
                           pretrained['layer4.0.conv1.weight'])
    stage2_log = next((out / 'coco' / 'bas' / 'train_seg').glob('*/*.log')).read_text()
    assert str(checkpoints / 'resnet101-63fe2227.pth') in stage2_log


def test_tiny_voc_is_real_photographs_with_their_classes(rehearsal):
    out, _ = rehearsal
    voc = out / 'data' / 'VOC2012'
    split = {name: (voc / 'ImageSets' / 'Segmentation' / f'{name}.txt').read_text().split()
             for name in ('train_aug', 'train', 'val')}
    assert split['train'] == ['2007_000063', '2011_000003', '2011_000006', '2011_000025']
    assert set(split['train']) < set(split['train_aug']) and len(split['val']) == 2
    assert not set(split['val']) & set(split['train_aug'])
    for image_id in split['train_aug'] + split['val']:
        mask = read_label_png(voc / 'SegmentationClass' / f'{image_id}.png')
        assert max(mask.shape) == 64
        present = sorted(int(c) for c in np.unique(mask) if 0 < c < 255)
        assert labels_from_xml(voc / 'Annotations' / f'{image_id}.xml') == present and present
    # 2007_000063: the official mask holds dog (12) and chair (9), as its XML
    assert labels_from_xml(voc / 'Annotations' / '2007_000063.xml') == [9, 12]


def test_tiny_coco_has_real_annotations_and_an_unannotated_image(rehearsal):
    out, _ = rehearsal
    prepared = out / 'data' / 'coco_wsss'
    assert len((prepared / 'train2014.txt').read_text().split()) == 8
    assert (prepared / 'train2014_unannotated.txt').read_text().split() == \
        ['COCO_train2014_000000000089']
    assert len((prepared / 'val2014.txt').read_text().split()) == 2
    instances = json.loads((out / 'data' / 'coco' / 'annotations' /
                            'instances_train2014.json').read_text())
    assert len(instances['categories']) == 80
    assert any(a['iscrowd'] for a in instances['annotations'])   # a resampled RLE crowd


def test_only_schedule_scales_batch_and_image_size_differ_from_the_real_configs():
    """What rehearsal_options change in each stage-1 and stage-2 config: the
    model is the real one (but the DeepLab preprocessor's pad size = the crop)."""
    allowed_stage1 = {'train_dataloader', 'train_cfg', 'pseudo_label', 'default_hooks'}
    for pipeline, config in PIPELINES.items():
        settings = load_settings(REPO / config, cfg_options=rehearsal_options(pipeline))
        real = load_settings(REPO / config)
        for method in REHEARSAL_METHODS[pipeline]:
            rehearsed = load_stage1_config(stage1_config(settings, method),
                                           cfg_options=stage1_options(settings, method))
            original = load_stage1_config(stage1_config(real, method),
                                          cfg_options=stage1_options(real, method))
            assert rehearsed.model == original.model
            assert rehearsed.optim_wrapper == original.optim_wrapper
            assert rehearsed.param_scheduler == original.param_scheduler
            changed = {k for k in set(original) | set(rehearsed)
                       if original.get(k) != rehearsed.get(k)}
            assert changed <= allowed_stage1, (method, changed - allowed_stage1)
            types = [t['type'] for t in rehearsed.train_dataloader.dataset.pipeline]
            assert types == [t['type'] for t in original.train_dataloader.dataset.pipeline]
        rehearsed = load_stage2_config(str(REPO / settings.stage2_config),
                                       cfg_options=stage2_options(settings))
        original = load_stage2_config(str(REPO / real.stage2_config))
        assert rehearsed.model.backbone == original.model.backbone
        assert rehearsed.model.decode_head == original.model.decode_head
        assert rehearsed.optim_wrapper == original.optim_wrapper
        assert rehearsed.model.data_preprocessor.size == (64, 64)


def test_printed_command_line_gives_the_same_settings(tmp_path):
    """The run_pipeline.py command rehearse prints (README) parses to the options it runs."""
    tool = _tool('run_pipeline')
    for pipeline, config in PIPELINES.items():
        options = rehearsal_options(pipeline)
        words = shlex.split(command_line(pipeline, tmp_path / 'w', tmp_path / 'd', tmp_path / 't',
                                         REHEARSAL_METHODS[pipeline], options))
        assert words[0].startswith('TORCH_HOME=') and words[2] == 'tools/run_pipeline.py'
        args = tool.parse_args(words[3:])
        from_cli = load_settings(REPO / args.config, cfg_options=args.cfg_options)
        direct = load_settings(REPO / config, cfg_options=options)
        assert args.methods == REHEARSAL_METHODS[pipeline]
        for method in REHEARSAL_METHODS[pipeline]:
            a = load_stage1_config(stage1_config(from_cli, method),
                                   cfg_options=stage1_options(from_cli, method))
            b = load_stage1_config(stage1_config(direct, method),
                                   cfg_options=stage1_options(direct, method))
            assert a.to_dict() == b.to_dict(), method
        a = load_stage2_config(str(REPO / from_cli.stage2_config),
                               cfg_options=stage2_options(from_cli))
        b = load_stage2_config(str(REPO / direct.stage2_config), cfg_options=stage2_options(direct))
        a, b = a.to_dict(), b.to_dict()
        a.pop('visualizer'), b.pop('visualizer')   # named uniquely at every load
        assert a == b
        assert from_cli.test_protocols == direct.test_protocols


def test_random_v1_weights_keep_frozen_batchnorm_finite():
    """The random checkpoint's statistics fit its weights: eval-mode (frozen)
    BatchNorm keeps the features of ImageNet's order instead of overflowing."""
    import torchvision
    network = torchvision.models.resnet101(weights=None)
    network.load_state_dict(random_v1_state_dict('resnet101'), strict=False)
    features = torch.nn.Sequential(*list(network.children())[:-2]).eval()
    with torch.no_grad():
        out = features(torch.randn(2, 3, 64, 64))
    assert torch.isfinite(out).all() and float(out.abs().max()) < 100


def test_diverged_classifier_maps_are_an_error_naming_the_cause():
    from stage1_cam.maps import NonFiniteMapsError, multiscale_maps
    from stage1_cam.models import CAMClassifier
    model = CAMClassifier(backbone=dict(type='mobilenet_v2', pretrained=False), num_classes=3,
                          data_preprocessor=dict(type='ImgDataPreprocessor')).eval()
    with torch.no_grad():
        model.classifier.weight.fill_(float('inf'))
    image = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    with pytest.raises(NonFiniteMapsError, match='diverged'):
        multiscale_maps(model, image, [1], kind='cam', scales=(1.0,))



def _tool(name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(f'{name}_tool', REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_real_samples_are_a_one_line_error(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        _tool('rehearse').main(['--out', str(tmp_path / 'out'),
                                '--real-data', str(tmp_path / 'nothing')])
    message = str(exit_info.value.code)
    assert message.startswith('rehearse: error:') and 'nothing' in message
    assert '\n' not in message
    assert not (tmp_path / 'out' / 'torch').exists()
