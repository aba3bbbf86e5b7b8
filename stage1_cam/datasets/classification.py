"""The torch dataset stage 1 trains on: images of a source with multi-hot labels."""
import numpy as np
import torch
from torch.utils.data import Dataset

from mmengine.dataset import DefaultSampler

from ..registry import DATA_SAMPLERS, DATASETS, SOURCES
from .base import DatasetError
from .transforms import build_pipeline, to_chw_tensor


def build_source(source):
    return SOURCES.build(source) if isinstance(source, dict) else source


def with_data_root(source_cfg, data_root):
    """A copy of a source config moved to ``data_root``: paths that started
    with the old root (labels file, split list, image dir) move with it."""
    source_cfg = dict(source_cfg)
    old_root = source_cfg.get('data_root')
    for key, value in list(source_cfg.items()):
        if isinstance(value, str) and old_root and value.startswith(old_root):
            source_cfg[key] = data_root + value[len(old_root):]
    source_cfg['data_root'] = data_root
    return source_cfg


@DATASETS.register_module()
class ImageLabelDataset(Dataset):
    """Items: ``dict(inputs=uint8 (3, H, W), data_samples=dict(labels, image_id))``.

    ``source``: an image source config (``dict(type='VOC', ...)``) or object.
    ``num_classes``: what the model is built for; a different class count in
    the source is an error now, not a shape error mid-training. Every listed
    image must have at least one label, and (``check_images``) a readable
    image header: a broken file stops training before the first step (about
    0.1 ms per image; set False for ImageNet-sized sets checked otherwise).

    Random transforms draw from a generator seeded by (seed, epoch, index):
    with ``EpochIndexSampler`` a run, and a resumed run, augment identically
    whatever the number of workers.
    """

    def __init__(self, source, num_classes, pipeline=(), seed=0, check_images=True):
        self.source = build_source(source)
        if self.source.num_classes != num_classes:
            raise DatasetError(
                f'the dataset ({type(self.source).__name__}) has {self.source.num_classes} classes '
                f'but the config says num_classes={num_classes}; set model.num_classes and the '
                'dataset num_classes to the labels file\'s class count.')
        self.source.check_labels()
        if check_images:
            self.source.check_images()
        self.num_classes = num_classes
        self.pipeline = build_pipeline(pipeline)
        self.seed = seed

    @property
    def metainfo(self):
        return {'classes': tuple(self.source.class_names)}

    def __len__(self):
        return len(self.source.ids)

    def multi_hot(self, image_id):
        labels = np.zeros(self.num_classes, np.float32)
        labels[np.asarray(self.source.labels(image_id)) - 1] = 1.0
        return torch.from_numpy(labels)

    def __getitem__(self, index):
        epoch = 0
        if isinstance(index, tuple):  # from EpochIndexSampler
            index, epoch = index
        image_id = self.source.ids[index]
        image = self.source.image(image_id)
        rng = np.random.default_rng([self.seed, epoch, index])
        for transform in self.pipeline:
            image = transform(image, rng)
        return {'inputs': to_chw_tensor(image),
                'data_samples': {'labels': self.multi_hot(image_id), 'image_id': image_id}}


@DATA_SAMPLERS.register_module()
class EpochIndexSampler(DefaultSampler):
    """mmengine's DefaultSampler (shuffling, DDP sharding, resume) yielding
    ``(index, epoch)`` so the dataset can seed its augmentation per epoch."""

    def __iter__(self):
        epoch = self.epoch
        return ((index, epoch) for index in super().__iter__())
