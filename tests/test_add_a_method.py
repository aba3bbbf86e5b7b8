"""The worked example of adding a method (README, "Adding a method").

A method is one model class that describes itself, plus its config; the
pipeline picks it up from one line in a pipeline config's ``methods``. Here
the class is "CAM with global max pooling" (image logits = the maximum of
each class map instead of its mean), defined in this file, and it goes
through maps -> pseudo-labels -> the folder check of stage 2 -> the
pipeline's title and results table, with no other file changed.
"""
from pathlib import Path

import pytest
import torch

from stage1_cam.config_check import method_class, validate_stage1_config
from stage1_cam.config import load_stage1_config
from stage1_cam.datasets.classification import build_source
from stage1_cam.datasets.demo import generate_demo_dataset
from stage1_cam.maps import multiscale_maps
from stage1_cam.models import CAMClassifier, build_model
from stage1_cam.models.cam import CLASSIFICATION_LOSSES
from stage1_cam.pseudo_labels import run_from_config
from stage1_cam.registry import MODELS
from wsss_core.classes import DEMO_CLASSES
from wsss_core.config import ConfigError
from wsss_core.label_folder import check_manifest
from wsss_pipeline.report import collect_results, markdown
from wsss_pipeline.settings import load_settings
from wsss_pipeline.steps import Context

REPO_ROOT = Path(__file__).resolve().parents[1]


# 1. The model file: the class and what it declares.
@MODELS.register_module(force=True)
class GMPCAMClassifier(CAMClassifier):
    """CAM whose image logits are the global max of the class maps (GMP), not their mean."""

    map_kinds = ('cam',)
    default_map_kind = 'cam'
    title = 'CAM (max pooling)'
    default_refine = {'fg_threshold': 0.35}   # peakier maps than GAP's: a higher bar

    def logits(self, class_maps):
        return class_maps.amax(dim=(2, 3))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'predict':
            return self.logits(self.classifier(self.backbone(inputs)))
        return super().forward(inputs, data_samples, mode)

    def loss(self, images, labels):
        logits = self.logits(self.classifier(self.backbone(images)))
        return {'loss_cls': CLASSIFICATION_LOSSES[self.cls_loss](logits, labels)}

    @torch.no_grad()
    def activation_maps(self, images):
        class_maps = self.classifier(self.backbone(images))
        return {'cam': torch.relu(class_maps), 'logits': self.logits(class_maps)}


# 2. Its config: the CAM demo config with the new model type (and, to show the
# class's default_refine at work, without the base's confident-region thresholds).
CONFIG_TEXT = f"""
_base_ = ['{REPO_ROOT}/configs/stage1/cam_mobilenetv2_demo.py']
model = dict(type='GMPCAMClassifier', backbone=dict(pretrained=False))
pseudo_label = dict(scales=(1.0,), refine=dict(_delete_=True, scheme='irn'))
"""

# 3. One line in a pipeline config's methods.
PIPELINE_TEXT = """
_base_ = ['{repo}/configs/pipeline/demo.py']
dataset = dict(data_root='{data_root}')
methods = dict(cam_gmp='{config}')
default_methods = ['cam', 'cam_gmp']
"""


@pytest.fixture(scope='module')
def method(tmp_path_factory):
    root = tmp_path_factory.mktemp('add_a_method')
    data_root = root / 'demo'
    generate_demo_dataset(data_root, num_train=3, num_val=1, image_size=(64, 64))
    config = root / 'cam_gmp_demo.py'
    config.write_text(CONFIG_TEXT)
    cfg = load_stage1_config(config, data_root=str(data_root))
    model = build_model(cfg.model)
    checkpoint = root / 'cam_gmp.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return dict(root=root, data_root=data_root, config=config, cfg=cfg, model=model,
                checkpoint=checkpoint)


def test_the_config_check_reads_the_declarations(method):
    cfg = method['cfg']
    assert method_class(cfg) is GMPCAMClassifier
    validate_stage1_config(cfg)
    cfg.pseudo_label.map_kind = 'bas'
    with pytest.raises(ConfigError, match="GMPCAMClassifier does not have; use map_kind='cam'"):
        validate_stage1_config(cfg)
    cfg.pseudo_label.map_kind = 'cam'


def test_maps_of_the_declared_kind(method):
    source = build_source(dict(method['cfg'].train_dataloader.dataset.source))
    image_id = source.ids[0]
    classes = list(source.labels(image_id))
    maps = multiscale_maps(method['model'], source.image(image_id), classes,
                           kind=GMPCAMClassifier.default_map_kind, scales=(1.0,))
    assert maps.shape == (len(classes), 64, 64) and maps.max() <= 1.0
    with pytest.raises(ValueError, match="gives no 'bas' maps"):
        multiscale_maps(method['model'], source.image(image_id), classes, kind='bas')


def test_pseudo_labels_stage2_accepts(method):
    out = method['root'] / 'pseudo'
    manifest = run_from_config(method['config'], method['checkpoint'], out,
                               data_root=str(method['data_root']), workers=0)
    assert manifest['complete'] and manifest['num_done'] == 3
    assert manifest['method'] == 'GMPCAMClassifier' and manifest['map_kind'] == 'cam'
    assert manifest['refine']['fg_threshold'] == 0.35   # the class's default_refine
    assert manifest['refine']['bg_threshold'] == 0.05   # refine.DEFAULT_REFINE_CFG
    checked = check_manifest(out / 'manifest.json', out / 'labels', ['background', *DEMO_CLASSES])
    assert checked['ids_done'] == manifest['ids_done']


def test_the_pipeline_titles_it(method, tmp_path):
    pipeline = tmp_path / 'pipeline.py'
    pipeline.write_text(PIPELINE_TEXT.format(repo=REPO_ROOT, data_root=method['data_root'],
                                             config=method['config']))
    settings = load_settings(pipeline)
    assert settings.method_titles == {'cam': 'CAM', 'cam_gmp': 'CAM (max pooling)'}
    table = markdown(collect_results(Context(settings, tmp_path / 'work', workers=0)))
    assert '| CAM (max pooling) |' in table and '| CAM |' in table
