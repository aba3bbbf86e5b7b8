"""WSOL end to end on a tiny demo boxes set: train (mmengine Runner) -> eval_wsol -> JSON."""
import json
import runpy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from stage1_cam.losses import single_label_cross_entropy
from stage1_cam.models import BASClassifier
from stage1_cam.training import train
from stage1_cam.wsol.cub import CUBSource
from stage1_cam.wsol.demo_boxes import generate_demo_boxes
from stage1_cam.wsol.evaluate import evaluate_wsol, run_from_config

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'configs' / 'wsol'
# 64 px images, 1 epoch, batch 4: the test checks the plumbing, not accuracy.
FAST = {
    'train_dataloader.batch_size': 4,
    'train_dataloader.dataset.pipeline': [
        dict(type='Resize', size=72, interpolation='bilinear'),
        dict(type='RandomCrop', size=64), dict(type='RandomHorizontalFlip')],
    'train_cfg.max_epochs': 1,
    'param_scheduler.0.end': 1,
    'default_hooks.logger.interval': 1,
}
EVAL = {'wsol.input_size': 64, 'wsol.batch_size': 4, 'wsol.threshold_step': 0.01}
METRICS = ('top1_loc', 'top5_loc', 'gt_known_loc', 'top1_cls', 'top5_cls', 'maxboxacc_v2')


@pytest.fixture(scope='module')
def demo_boxes(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo_boxes')
    generate_demo_boxes(root, seed=1, num_train=8, num_test=6, image_size=(64, 64))
    return root


@pytest.fixture(scope='module')
def trained(demo_boxes, tmp_path_factory):
    """CAM and BAS checkpoints after one epoch each."""
    work = tmp_path_factory.mktemp('wsol_work')
    checkpoints = {}
    for method in ('cam', 'bas'):
        config = CONFIGS / f'{method}_mobilenetv2_demo_boxes.py'
        runner = train(str(config), work_dir=str(work / method), data_root=str(demo_boxes),
                       cfg_options=FAST)
        assert runner.model.cls_loss == 'softmax_ce'
        checkpoints[method] = (config, work / method / 'epoch_1.pth')
    return checkpoints


def test_single_label_ce_is_softmax_cross_entropy():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    one_hot = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    expected = F.cross_entropy(logits, torch.tensor([1, 2]))
    torch.testing.assert_close(single_label_cross_entropy(logits, one_hot), expected)
    with pytest.raises(ValueError, match='exactly one class'):
        single_label_cross_entropy(logits, torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))


@pytest.mark.parametrize('frg_detach, trains_classifier', [(True, False), (False, True)])
def test_frg_detach_decides_whether_l_frg_trains_the_classifier(frg_detach, trains_classifier):
    torch.manual_seed(0)
    model = BASClassifier(backbone=dict(type='mobilenet_v2', pretrained=False), num_classes=3,
                          cls_loss='softmax_ce', frg_detach=frg_detach).train()
    images = torch.randn(2, 3, 64, 64)
    labels = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    model.loss(images, labels)['loss_frg'].backward()
    grad = model.classifier.weight.grad
    assert (grad is not None and grad.abs().sum() > 0) == trains_classifier
    assert model.classifier_loc[0].weight.grad.abs().sum() > 0  # the generator always learns


@pytest.mark.parametrize('method', ['cam', 'bas'])
def test_eval_wsol_writes_all_metrics(trained, demo_boxes, tmp_path, method):
    config, checkpoint = trained[method]
    out_json = tmp_path / f'{method}.json'
    eval_wsol = runpy.run_path(str(REPO / 'tools' / 'eval_wsol.py'), run_name='eval_wsol')
    options = [f'{k}={v}' for k, v in EVAL.items()]
    eval_wsol['main']([str(config), str(checkpoint), '--data-root', str(demo_boxes),
                    '--out-json', str(out_json), '--cfg-options', *options])
    result = json.loads(out_json.read_text())
    metrics = result['metrics']
    assert metrics['num_images'] == 6
    for key in METRICS:
        assert 0.0 <= metrics[key] <= 1.0, key
    assert set(metrics['maxboxacc_per_iou']) == {'30', '50', '70'}
    assert metrics['maxboxacc_per_iou']['30'] >= metrics['maxboxacc_per_iou']['70']
    assert result['settings']['map_kind'] == ('bas' if method == 'bas' else 'cam')
    assert len(result['checkpoint_sha256']) == 64
    assert not Path(str(out_json) + '.partial.json').exists()


class FailingAfter(CUBSource):
    """A real CUB source whose reads fail after ``limit`` images (a killed run)."""

    limit = None

    def image(self, image_id):
        if self.limit is not None and self.ids.index(image_id) >= self.limit:
            raise KeyboardInterrupt
        return super().image(image_id)


def test_interrupted_evaluation_resumes(trained, demo_boxes, tmp_path):
    from stage1_cam.maps import load_classifier
    from mmengine.config import Config
    config, checkpoint = trained['bas']
    cfg = Config.fromfile(str(config))
    model = load_classifier(cfg, checkpoint)
    settings = {**cfg.wsol, 'input_size': 64, 'batch_size': 2, 'threshold_step': 0.01}
    straight = evaluate_wsol(model, CUBSource(demo_boxes, 'test'), settings,
                             tmp_path / 'straight.json', progress=False)

    source = FailingAfter(demo_boxes, 'test')
    source.limit = 4
    out = tmp_path / 'resumed.json'
    with pytest.raises(KeyboardInterrupt):
        evaluate_wsol(model, source, settings, out, progress=False, save_every_s=0)
    partial = json.loads((tmp_path / 'resumed.json.partial.json').read_text())
    assert partial['done'] == 4
    source.limit = None
    resumed = evaluate_wsol(model, source, settings, out, progress=False)
    assert resumed['metrics'] == straight['metrics']


def test_run_from_config_refuses_a_missing_checkpoint(tmp_path):
    from stage1_cam.wsol.evaluate import WSOLEvalError
    with pytest.raises(WSOLEvalError, match='checkpoint not found'):
        run_from_config(str(CONFIGS / 'cam_mobilenetv2_demo_boxes.py'), tmp_path / 'none.pth')


@pytest.mark.parametrize('name', sorted(p.name for p in CONFIGS.glob('*.py')))
def test_wsol_configs_load_single_label(name):
    from mmengine.config import Config
    cfg = Config.fromfile(str(CONFIGS / name))
    assert cfg.model.cls_loss == 'softmax_ce'
    assert cfg.model.num_classes == cfg.train_dataloader.dataset.num_classes
    assert cfg.wsol.map_kind == ('bas' if cfg.model.type == 'BASClassifier' else 'cam')
    if cfg.model.type == 'BASClassifier':
        assert cfg.model.frg_detach is False


@pytest.mark.parametrize('name', ['icl_resnet50_cub.py', 'bas_resnet50_cub.py'])
def test_wsol_models_train_on_single_label_batches(name):
    """The CUB configs' models give finite losses on one-hot labels (random init)."""
    from mmengine.config import Config
    from stage1_cam.models import build_model
    cfg = Config.fromfile(str(CONFIGS / name))
    model_cfg = cfg.model.copy()
    model_cfg['backbone'] = dict(model_cfg['backbone'], pretrained=False)
    torch.manual_seed(0)
    model = build_model(model_cfg).train()
    labels = torch.zeros(2, 200)
    labels[0, 3] = labels[1, 150] = 1.0
    losses = model.loss(torch.randn(2, 3, 64, 64), labels)
    assert all(torch.isfinite(v) for v in losses.values())
    assert ('loss_mcls' if 'bas' in name else 'loss_cls') in losses
