"""Plain CAM classifier: backbone -> 1x1 conv classifier -> GAP.

Its class activation maps are ReLU(classifier(features)) (Zhou et al. 2016,
IRN's ``resnet50_cam``).
"""
import torch
from mmengine.model import BaseModel
from torch import nn

from .. import losses
from ..registry import MODELS
from .backbones import build_backbone

CLASSIFICATION_LOSSES = {
    'multilabel_softmax': losses.multilabel_softmax_loss,    # BAS-Extension's L_mcls
    'multilabel_soft_margin': losses.multilabel_soft_margin_loss,  # IRN's CAM loss
    'softmax_ce': losses.single_label_cross_entropy,  # single-label WSOL (CUB, ImageNet)
}


def as_label_tensor(data_samples, num_classes, device):
    """Multi-hot (B, C) float labels from the collated data samples."""
    labels = data_samples['labels'] if isinstance(data_samples, dict) else data_samples
    labels = torch.as_tensor(labels, device=device).float()
    if labels.ndim != 2 or labels.shape[1] != num_classes:
        raise ValueError(f'labels have shape {tuple(labels.shape)}, the model has {num_classes} '
                         'classes: the dataset and model.num_classes disagree.')
    return labels


@MODELS.register_module()
class CAMClassifier(BaseModel):
    """Multi-label classifier whose 1x1-conv head gives class activation maps.

    Modes (mmengine): ``loss`` -> dict of losses; ``predict`` -> image logits
    (B, C); ``tensor`` -> dict of activation maps (see ``activation_maps``).
    Parameters whose name contains ``classifier`` are the new layers (10x LR
    through the optimizer's ``paramwise_cfg``).

    A method describes itself, and every step reads these declarations
    instead of recognising classes: ``map_kinds`` it can produce (keys of
    ``activation_maps``, plus the ``maps.COMBINED_KINDS`` made of them),
    ``default_map_kind`` for its pseudo-labels and WSOL boxes, its ``title``
    in tables and figures, and ``default_refine``: overrides of
    ``refine.DEFAULT_REFINE_CFG`` its maps want (a config's
    ``pseudo_label.refine`` overrides both).
    """

    map_kinds = ('cam',)
    default_map_kind = 'cam'
    title = 'CAM'
    default_refine = {}

    def __init__(self, backbone, num_classes, cls_loss='multilabel_soft_margin',
                 data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if cls_loss not in CLASSIFICATION_LOSSES:
            raise KeyError(f'unknown cls_loss {cls_loss!r}; choose {sorted(CLASSIFICATION_LOSSES)}')
        self.backbone = build_backbone(backbone)
        self.num_classes = num_classes
        self.cls_loss = cls_loss
        self.classifier = nn.Conv2d(self.backbone.out_channels, num_classes, 1, bias=False)
        nn.init.xavier_uniform_(self.classifier.weight)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            labels = as_label_tensor(data_samples, self.num_classes, inputs.device)
            return self.loss(inputs, labels)
        if mode == 'predict':
            return self.classifier(self.backbone(inputs)).mean(dim=(2, 3))
        if mode == 'tensor':
            return self.activation_maps(inputs)
        raise ValueError(f'unknown mode {mode!r}')

    def loss(self, images, labels):
        class_maps = self.classifier(self.backbone(images))
        logits = class_maps.mean(dim=(2, 3))
        return {'loss_cls': CLASSIFICATION_LOSSES[self.cls_loss](logits, labels)}

    @torch.no_grad()
    def activation_maps(self, images):
        """dict(cam=(B, C, h, w) non-negative class activation maps, logits=(B, C))."""
        class_maps = self.classifier(self.backbone(images))
        return {'cam': torch.relu(class_maps), 'logits': class_maps.mean(dim=(2, 3))}
