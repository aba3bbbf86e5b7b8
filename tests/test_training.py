"""Short CPU training runs on a small demo set: loss goes down, checkpoints resume."""
import json
from pathlib import Path

import pytest
import torch

from stage1_cam.datasets.demo import generate_demo_dataset
from stage1_cam.training import train

CONFIGS = Path(__file__).resolve().parents[1] / 'configs' / 'stage1'
FAST = {
    'train_dataloader.batch_size': 4,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'default_hooks.logger.interval': 1,
    'log_processor.window_size': 1,
}


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    generate_demo_dataset(root, seed=3, num_train=8, num_val=2)
    return root


def scalars(work_dir):
    """Per-iteration logged values of the run (mmengine's scalars.json)."""
    files = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    rows = []
    for line in files[-1].read_text().splitlines():
        rows.append(json.loads(line))
    return rows


def classification_loss(model, dataset):
    """Mean L_mcls over the whole (un-augmented) set, model in eval mode."""
    from stage1_cam.losses import multilabel_softmax_loss
    model.eval()
    total = 0.0
    with torch.no_grad():
        for index in range(len(dataset)):
            item = dataset[index]
            inputs = model.data_preprocessor({'inputs': item['inputs'][None]}, False)['inputs']
            logits = model(inputs, mode='predict')
            total += multilabel_softmax_loss(logits, item['data_samples']['labels'][None]).item()
    return total / len(dataset)


def test_bas_training_reduces_loss_and_writes_checkpoint(demo_root, tmp_path):
    from stage1_cam.datasets import ImageLabelDataset
    dataset = ImageLabelDataset(dict(type='Demo', data_root=str(demo_root)), num_classes=6)
    work_dir = tmp_path / 'bas'
    torch.manual_seed(0)
    runner = train(str(CONFIGS / 'bas_mobilenetv2_demo.py'), work_dir=str(work_dir),
                   data_root=str(demo_root),
                   cfg_options={**FAST, 'train_cfg.max_epochs': 6, 'param_scheduler.0.end': 6})
    trained_loss = classification_loss(runner.model, dataset)
    # The same model before training: the config's initial weights (seed 0).
    from mmengine.runner import set_random_seed
    from stage1_cam.models import build_model
    set_random_seed(0)
    initial_loss = classification_loss(build_model(runner.cfg.model), dataset)
    assert trained_loss < 0.5 * initial_loss, (initial_loss, trained_loss)

    rows = [r for r in scalars(work_dir) if 'loss' in r]
    assert len(rows) == 12  # 8 images / batch 4 x 6 epochs
    for key in ('loss_mcls', 'loss_frg', 'loss_bas', 'loss_area'):
        assert all(torch.isfinite(torch.tensor(r[key])) for r in rows), key
    checkpoint = torch.load(work_dir / 'epoch_6.pth', map_location='cpu', weights_only=True)
    assert checkpoint['meta']['seed'] == 0
    assert any(k.startswith('classifier_loc.') for k in checkpoint['state_dict'])


def test_resumed_run_equals_uninterrupted_run(demo_root, tmp_path):
    """Train 2 epochs at once vs 1 epoch, stop, resume to 2: same weights."""
    options = {**FAST, 'train_cfg.max_epochs': 2, 'param_scheduler.0.end': 2}
    config = str(CONFIGS / 'bas_mobilenetv2_demo.py')
    straight = tmp_path / 'straight'
    train(config, work_dir=str(straight), data_root=str(demo_root), cfg_options=options)

    interrupted = tmp_path / 'interrupted'
    train(config, work_dir=str(interrupted), data_root=str(demo_root),
          cfg_options={**options, 'train_cfg.max_epochs': 1})
    runner = train(config, work_dir=str(interrupted), data_root=str(demo_root),
                   cfg_options=options, resume=True)
    assert runner.epoch == 2

    a = torch.load(straight / 'epoch_2.pth', map_location='cpu', weights_only=True)['state_dict']
    b = torch.load(interrupted / 'epoch_2.pth', map_location='cpu', weights_only=True)['state_dict']
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)


def test_cam_config_trains(demo_root, tmp_path):
    runner = train(str(CONFIGS / 'cam_mobilenetv2_demo.py'), work_dir=str(tmp_path / 'cam'),
                   data_root=str(demo_root),
                   cfg_options={**FAST, 'train_cfg.max_epochs': 1, 'param_scheduler.0.end': 1})
    assert (tmp_path / 'cam' / 'epoch_1.pth').is_file()
    assert type(runner.model).__name__ == 'CAMClassifier'


def test_class_count_mismatch_is_reported_before_training(demo_root, tmp_path):
    from stage1_cam.config_check import ConfigError
    with pytest.raises(ConfigError, match='num_classes is 20 but the Demo source'):
        train(str(CONFIGS / 'bas_mobilenetv2_demo.py'), work_dir=str(tmp_path / 'bad'),
              data_root=str(demo_root),
              cfg_options={**FAST, 'train_dataloader.dataset.num_classes': 20,
                           'model.num_classes': 20})
