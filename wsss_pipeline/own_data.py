"""Your own photographs in one command (``tools/run_own_data.py``).

A folder of images, a CSV of image tags (and, optionally, masks for some of
them) become pseudo-labels, a trained DeepLab, a results table and masks for
new images, with no config written by hand. The user chooses the backbone,
the methods, the image size and the iteration budget; everything else is
derived from those and from the data, printed at the start and saved in
``W/own_data/derived.json``:

* classes (from the labels file), class counts of both stages and the palette;
* the splits: every image without a mask trains; the images with masks are
  split (seeded, ``val_fraction``) into those scoring the pseudo-labels (they
  train too) and a held-out set scoring the DeepLab; list files override it;
* the image size: given, else the median longer side of the training images,
  at most the backbone configs' crop (320 for MobileNetV2, 448 for ResNet-50);
* stage 1: the crop (the image size; a resize before it keeps its ratio), the
  output stride (MobileNetV2: 16 from 256 px, as the 320 px real-photo
  configs, else 8, as the 128 px demo ones), the batch (at most the number of
  training images) and the epochs that give the iteration budget (default:
  the steps each config's schedule makes on the set it was tuned for: the
  400-image real-photo benchmark, VOC's 10,582 train_aug images);
* stage 2: the crop ``8 * ceil(size / 8) + 1`` up to the recipe's 321 (321 for
  320 px), the data preprocessor's pad size (the crop, so every batch is
  padded to the crop), the ASPP rates (VOC's 6/12/18/24 on the 41x41 stride-8
  map of a 321 crop, scaled to this crop's feature map and kept below its
  side: 3/6/9/12 on the 21x21 map of MobileNetV2 at stride 16), the batch and
  the iterations (the budget; default: the base pipeline's);
* confident-region thresholds ``'auto'``: the seed sweep on the training
  images with masks where there are any, else Otsu's threshold of the peak
  map values (``stage1_cam/thresholds.py``); without masks the scoring steps
  are skipped (``score_labels`` / ``score_segmentation``).

The stage configs are the project's configs for the chosen backbone
(``configs/pipeline/real_photos.py``'s MobileNetV2 configs for photographs,
``configs/pipeline/voc.py``'s ResNet ones), loaded with their pipeline
options and edited in memory; they are saved to ``W/configs/`` (generated,
for ``tools/predict.py``, ``tools/test_seg.py`` or a re-run) and the pipeline
runs on them (``wsss_pipeline.run``).
"""
import json
import math
import platform
from pathlib import Path

import numpy as np
from mmengine.config import Config

from stage1_cam.config import load_stage1_config
from stage1_cam.datasets.folder import FolderSource, read_class_names
from stage1_cam.datasets.folder import image_size as header_size
from stage2_seg.datasets.classes import BACKGROUND, palette
from stage2_seg.predict import predict_images
from wsss_core.config import load_config
from wsss_core.dataset_files import DatasetError
from wsss_core.image_folder import lookup_table
from wsss_core.io import atomic_path, sha256_of, write_json

from .run import run_pipeline
from .settings import REPO, PipelineConfigError, stage1_options, stage2_options

BACKBONES = {
    # the pipeline whose stage configs and protocols are the defaults, and the size of
    # the training set its stage-1 schedules were made for (their step counts)
    'mobilenetv2': dict(pipeline='configs/pipeline/real_photos.py', reference_images=400,
                        stage1='MobileNetV2', stage2='DeepLabV2-MobileNetV2 (OS 16)'),
    'resnet': dict(pipeline='configs/pipeline/voc.py', reference_images=10582,
                   stage1='ResNet-50', stage2='DeepLabV2-ResNet-101 (OS 8)'),
}
STAGE1_MAX_BATCH, STAGE2_MAX_BATCH = 16, 8
CHECKPOINT_STEPS = 25   # one epoch of the 400-image real-photo benchmark
# DeepLab's ASPP-v2 rates for VOC: 6/12/18/24 on the 41x41 map (321 crop, stride 8).
REFERENCE_RATES, REFERENCE_MAP = (6, 12, 18, 24), 41
SPLIT_FILES = ('train', 'val', 'train_masked')


class OwnDataError(DatasetError):
    """A choice or a dataset the own-data run cannot use; says what to change."""


# -- derivation rules (each a small function, tested on its own) -------------

def stage2_crop(image_size, largest=None):
    """DeepLab's crop for images of ``image_size``: a multiple of 8 plus one
    (321 for 320 px), so the corners of the crop fall on feature-map cells; at
    most ``largest`` (the recipe's 321: it trains at 321 whatever the image
    size, its scale augmentation covers the rest)."""
    crop = 8 * math.ceil(image_size / 8) + 1
    return crop if largest is None else min(crop, largest)


def pipeline_crop(pipeline, key):
    """The side of the first RandomCrop of a training pipeline, or None."""
    for transform in pipeline:
        if transform['type'] == 'RandomCrop':
            size = transform[key]
            return int(size[0] if isinstance(size, (list, tuple)) else size)
    return None


def feature_size(size, output_stride):
    """Side of the feature map of a ``size`` input at ``output_stride`` (each
    stride-2 layer, 3x3 with padding 1, gives ceil(n / 2))."""
    for _ in range(int(round(math.log2(output_stride)))):
        size = math.ceil(size / 2)
    return size


def aspp_dilations(crop, output_stride):
    """ASPP-v2 rates for a ``crop`` at ``output_stride``: VOC's 6/12/18/24 on a
    41x41 map scaled to this map, at least 1 and below its side (a rate at or
    past the side leaves only the kernel's centre tap inside the map)."""
    side = feature_size(crop, output_stride)
    top = max(1, side - 1)
    return tuple(min(top, max(1, round(r * side / REFERENCE_MAP))) for r in REFERENCE_RATES)


def backbone_output_stride(backbone_cfg):
    """A stage-2 backbone config's output stride: its ``output_stride`` (MobileNetV2),
    else the stem's 4 times its stage strides (mmseg's ResNet)."""
    if backbone_cfg.get('output_stride'):
        return int(backbone_cfg['output_stride'])
    return 4 * math.prod(backbone_cfg.get('strides', (1, 2, 2, 2)))


def stage1_output_stride(backbone, image_size, configured):
    """MobileNetV2's stride: 16 from 256 px (the 320 px real-photo configs'), 8
    below (the 128 px demo configs'), so the map keeps >= 16 cells a side;
    ResNet keeps its configured layout (BAS-Extension's, stride 16)."""
    if backbone != 'mobilenetv2':
        return configured
    return 16 if image_size >= 256 else 8


def epochs_for(iterations, num_train, batch_size):
    """Whole epochs giving at least ``iterations`` steps (drop_last batches)."""
    steps = max(1, num_train // batch_size)
    return max(1, math.ceil(iterations / steps))


def median_long_side(source, ids):
    """The median longer side of ``ids``' images (headers only)."""
    return int(np.median([max(header_size(source.image_path(i))) for i in ids]))


# -- data --------------------------------------------------------------------

def _read_list(path, table, what):
    """Ids of a user's split list: image names or ids, one a line."""
    path = Path(path)
    if not path.is_file():
        raise OwnDataError(f'{what} list not found: {path}; give a text file with one image '
                           'name a line.')
    ids = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        name = line.strip()
        if not name or name.startswith('#'):
            continue
        if name not in table:
            raise OwnDataError(f'{path}:{number}: image {name!r} is not in the image folder; '
                               'fix the name.')
        ids.append(table[name])
    return ids


def make_splits(source, val_fraction=0.2, seed=0, train_list=None, val_list=None):
    """{'train', 'val', 'train_masked'}: id lists (see the module docstring)."""
    labelled = list(source.ids)
    masked = source.ids_with_masks
    table = lookup_table(source.images, source.image_dir)
    if train_list or val_list:
        val = _read_list(val_list, table, 'val') if val_list else []
        train = _read_list(train_list, table, 'train') if train_list else \
            [i for i in labelled if i not in set(val)]
        for name, ids in (('train', train), ('val', val)):
            unlabelled = [i for i in ids if i not in set(labelled)]
            if unlabelled:
                raise OwnDataError(f'the {name} list names {unlabelled[0]!r}, which has no row in '
                                   f'{source.labels_file}; add its tags or drop it.')
        overlap = set(train) & set(val)
        if overlap:
            raise OwnDataError(f'{sorted(overlap)[0]!r} is in both the train and the val list.')
        val = [i for i in val if i in set(masked)]  # the held-out images are scored
    else:
        rng = np.random.default_rng(seed)
        order = [masked[i] for i in rng.permutation(len(masked))]
        count = int(round(len(masked) * val_fraction))
        if len(masked) >= 2:
            count = min(max(count, 1), len(masked) - 1)
        else:
            count = 0   # a single mask scores the pseudo-labels
        val = sorted(order[:count])
        train = [i for i in labelled if i not in set(val)]
    if not train:
        raise OwnDataError('no image is left to train on; lower --val-fraction or give a train '
                           'list.')
    return {'train': sorted(train), 'val': sorted(val),
            'train_masked': sorted(i for i in train if i in set(masked))}


def check_masks(source, ids):
    """Every mask of ``ids`` has its image's size (headers only): fails before training."""
    for image_id in ids:
        if source.gt_path(image_id) is not None:
            source.check_mask(image_id)


# -- configs -----------------------------------------------------------------

def _scale_pipeline(pipeline, image_size):
    """The stage-1 training pipeline with its crop at ``image_size`` (a resize
    before the crop keeps its ratio to the crop)."""
    crop = next((t['size'] for t in pipeline if t['type'] == 'RandomCrop'), None)
    crop = crop[0] if isinstance(crop, (list, tuple)) else crop
    out = []
    for transform in pipeline:
        transform = dict(transform)
        if transform['type'] == 'RandomCrop':
            transform['size'] = image_size
        elif transform['type'] == 'Resize' and crop:
            transform['size'] = int(round(transform['size'] * image_size / crop))
        out.append(transform)
    return out


def build_stage1_config(template, options, data, derived):
    """The stage-1 config of one method: ``template`` (a path) with the base
    pipeline's ``options`` and the derived values."""
    cfg = load_stage1_config(template, cfg_options=options)
    source = dict(type='Folder', image_dir=data['image_dir'], labels_file=data['labels_file'],
                  mask_dir=data['mask_dir'], class_names=data['class_names'], split='train',
                  splits=data['splits'])
    num_classes = len(data['class_names'])
    dataset = cfg.train_dataloader.dataset
    dataset.source = source
    dataset.num_classes = num_classes
    dataset.pipeline = _scale_pipeline(dataset.pipeline, derived['image_size'])
    cfg.train_dataloader.batch_size = derived['stage1_batch']
    cfg.model.num_classes = num_classes
    if derived['backbone'] == 'mobilenetv2':
        cfg.model.backbone.output_stride = derived['stage1_output_stride']
    epochs = derived['stage1_epochs']
    cfg.train_cfg.max_epochs = epochs
    # A small set makes many short epochs: checkpoint about every CHECKPOINT_STEPS steps.
    cfg.default_hooks.checkpoint.interval = max(
        1, math.ceil(CHECKPOINT_STEPS / derived['stage1_steps_per_epoch']))
    for scheduler in cfg.param_scheduler:
        if scheduler.get('by_epoch', True):
            scheduler['end'] = epochs
    cfg.pseudo_label.pop('source', None)
    if data['splits'].get('train_masked'):
        cfg.pseudo_label.threshold_split = 'train_masked'
    else:
        cfg.pseudo_label.pop('threshold_split', None)
    cfg.data_root = data['image_dir']
    cfg.num_classes = num_classes
    return cfg


def _folder_dataset(dataset, data, ann_dir, split, pipeline):
    """A stage-2 loader's dataset over the image folder."""
    dataset = {k: v for k, v in dataset.items() if k not in ('img_suffix', 'data_root')}
    dataset.update(type='FolderLabelDirDataset', img_dir=data['image_dir'], ann_dir=ann_dir,
                   split=split, metainfo=data['metainfo'], pipeline=pipeline)
    return dataset


def build_stage2_config(template, options, data, derived):
    """The stage-2 config: ``template`` (a path) with the base pipeline's
    ``options`` and the derived values."""
    cfg = load_config(template, cfg_options=options)
    crop = (derived['stage2_crop'],) * 2
    train = cfg.train_dataloader
    pipeline = [dict(t, crop_size=crop) if t['type'] == 'RandomCrop' else dict(t)
                for t in train.dataset.pipeline]
    # The pseudo-label folder is set per method by the pipeline (--pseudo-labels).
    train.dataset = _folder_dataset(train.dataset, data, None, data['splits']['train'], pipeline)
    train.batch_size = derived['stage2_batch']
    test_dataset = cfg.test_dataloader.dataset
    test_pipeline = [dict(t) for t in test_dataset.pipeline]
    if data['splits'].get('val'):
        cfg.val_dataloader.dataset = _folder_dataset(
            cfg.val_dataloader.dataset, data, data['mask_dir'], data['splits']['val'],
            test_pipeline)
        cfg.val_dataloader.dataset.test_mode = True
        cfg.test_dataloader = cfg.val_dataloader
    else:
        # Nothing to score: no validation; the test loader lists the images without labels
        # (tools/test_seg.py --out writes their predictions).
        cfg.test_dataloader.dataset = _folder_dataset(
            test_dataset, data, None, None,
            [t for t in test_pipeline if t['type'] != 'LoadAnnotations'])
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.crop_size = crop
    cfg.model.data_preprocessor.size = crop
    cfg.data_preprocessor = cfg.model.data_preprocessor
    cfg.model.decode_head.num_classes = len(data['metainfo']['classes'])
    cfg.model.decode_head.dilations = derived['stage2_dilations']
    iters = derived['stage2_iters']
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    for scheduler in cfg.param_scheduler:
        scheduler['end'] = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.dataset_type = 'FolderLabelDirDataset'
    cfg.data_root = data['image_dir']
    cfg.pseudo_label_dir = None
    return cfg


def save_config(cfg, path):
    """Write ``cfg`` as a Python config (generated, atomically)."""
    path = Path(path)
    text = ('# Generated by wsss_pipeline/own_data.py (tools/run_own_data.py); re-generated by '
            'every run.\n' + cfg.pretty_text)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


# -- the whole derivation ----------------------------------------------------

def derive(images, labels, masks=None, classes=None, backbone='mobilenetv2', methods=None,
           image_size=None, iters=None, val_fraction=0.2, seed=0, train_list=None,
           val_list=None):
    """(data, derived): the dataset facts and every derived setting, from the choices."""
    if backbone not in BACKBONES:
        raise OwnDataError(f'--backbone {backbone!r}: choose one of {sorted(BACKBONES)} '
                           '(mobilenetv2 on a CPU; resnet = ResNet-50 + ResNet-101 on a GPU).')
    base = load_config(REPO / BACKBONES[backbone]['pipeline'])
    methods = list(methods or base.get('default_methods') or base.methods)
    unknown = [m for m in methods if m not in base.methods]
    if unknown:
        raise OwnDataError(f'unknown method(s) {unknown}: choose from {sorted(base.methods)}.')
    if iters is not None and iters < 1:
        raise OwnDataError(f'--iters {iters}: give a positive number of iterations.')
    if not 0.0 <= val_fraction < 1.0:
        raise OwnDataError(f'--val-fraction {val_fraction}: give a fraction in [0, 1).')
    image_dir = Path(images).resolve()
    mask_dir = Path(masks).resolve() if masks else None
    source = FolderSource(image_dir, labels, mask_dir=mask_dir,
                          class_names=read_class_names(classes))
    check_masks(source, source.ids)
    splits = make_splits(source, val_fraction, seed, train_list, val_list)
    class_names = list(source.class_names)
    num_train = len(splits['train'])
    templates = {m: str(REPO / base.methods[m]) for m in methods}
    configured = {m: load_stage1_config(templates[m], cfg_options=stage1_options(base, m))
                  for m in methods}
    stage2_template = load_config(REPO / base.stage2_config, cfg_options=stage2_options(base))
    stage1_largest = pipeline_crop(configured[methods[0]].train_dataloader.dataset.pipeline,
                                   'size')
    if image_size:
        size, size_rule = int(image_size), 'given'
    else:
        size = median_long_side(source, splits['train'])
        size_rule = 'median longer side of the train images'
        if stage1_largest and size > stage1_largest:
            size, size_rule = stage1_largest, f'the {backbone} configs\' crop (photos are larger)'
    if size < 16:
        raise OwnDataError(f'image size {size}: below 16 px there is no feature map; give '
                           '--image-size or larger images.')
    stage1_batch = min(STAGE1_MAX_BATCH, num_train)
    crop = stage2_crop(size, pipeline_crop(stage2_template.train_dataloader.dataset.pipeline,
                                           'crop_size'))
    os2 = backbone_output_stride(stage2_template.model.backbone)
    derived = {
        'backbone': backbone,
        'backbones': f'{BACKBONES[backbone]["stage1"]} (stage 1), '
                     f'{BACKBONES[backbone]["stage2"]} (stage 2)',
        'methods': methods,
        'num_classes': len(class_names),
        'stage2_num_classes': len(class_names) + 1,
        'image_size': size,
        'image_size_rule': size_rule,
        'stage1_crop': size,
        'stage1_output_stride': stage1_output_stride(
            backbone, size, configured[methods[0]].model.backbone.get('output_stride', 16)),
        'stage1_batch': stage1_batch,
        'stage1_steps_per_epoch': max(1, num_train // stage1_batch),
        'stage2_crop': crop,
        'stage2_pad_size': crop,
        'stage2_output_stride': os2,
        'stage2_feature_map': feature_size(crop, os2),
        'stage2_dilations': aspp_dilations(crop, os2),
        'stage2_batch': min(STAGE2_MAX_BATCH, num_train),
        'stage2_iters': int(iters) if iters else int(stage2_template.train_cfg.max_iters),
        'thresholds': ("'auto': seed sweep on the train images with masks"
                       if splits['train_masked'] else
                       "'auto': Otsu's threshold of the peak map values (no masks)"),
        'seed': seed,
    }
    # Stage-1 steps: the budget, else the steps each config's schedule makes on the
    # data it was tuned on (its epochs x the reference set's batches per epoch).
    reference = BACKBONES[backbone]['reference_images']
    derived['stage1_steps_per_method'] = {
        m: int(iters) if iters else int(configured[m].train_cfg.max_epochs) * max(
            1, reference // int(configured[m].train_dataloader.batch_size))
        for m in methods}
    derived['stage1_epochs_per_method'] = {
        m: epochs_for(steps, num_train, stage1_batch)
        for m, steps in derived['stage1_steps_per_method'].items()}
    data = {'image_dir': str(image_dir), 'labels_file': str(Path(labels).resolve()),
            'mask_dir': str(mask_dir) if mask_dir else None, 'class_names': class_names,
            'metainfo': dict(classes=(BACKGROUND, *class_names),
                             palette=palette(len(class_names) + 1)),
            'labels_sha256': sha256_of(labels),   # edited tags redo the run
            'num_labelled': len(source.ids),
            'num_masks': len([i for i in source.ids if source.gt_path(i) is not None]),
            'split_ids': splits, 'templates': templates,
            'stage2_template': str(REPO / base.stage2_config),
            'base_pipeline': str(REPO / BACKBONES[backbone]['pipeline'])}
    return data, derived


def write_run_files(work_dir, data, derived):
    """Split lists, the stage configs and the pipeline config under ``work_dir``;
    returns the pipeline config's path."""
    work_dir = Path(work_dir).resolve()
    own = work_dir / 'own_data'
    recorded = _recorded(data, derived)
    for name in ('images', 'masks', 'labels'):
        folder = {'images': data['image_dir'], 'masks': data['mask_dir'],
                  'labels': str(Path(data['labels_file']).parent)}[name]
        if name != 'labels' and folder and (work_dir == Path(folder) or
                                            Path(folder) in work_dir.parents):
            raise OwnDataError(f'--work-dir {work_dir} is inside the {name} folder {folder}, '
                               'which is never written into; choose a folder outside it.')
    splits = {}
    for name in SPLIT_FILES:
        ids = data['split_ids'][name]
        if ids:
            path = own / 'splits' / f'{name}.txt'
            with atomic_path(path) as tmp:
                tmp.write_text(''.join(f'{i}\n' for i in ids))
            splits[name] = str(path)
    data = dict(data, splits=splits)
    base = load_config(data['base_pipeline'])
    configs = work_dir / 'configs'
    methods = {}
    for method in derived['methods']:
        epochs = derived['stage1_epochs_per_method'][method]
        cfg = build_stage1_config(data['templates'][method], stage1_options(base, method), data,
                                  dict(derived, stage1_epochs=epochs))
        methods[method] = str(save_config(cfg, configs / f'stage1_{method}.py'))
    stage2 = save_config(build_stage2_config(data['stage2_template'], stage2_options(base), data,
                                             derived), configs / 'stage2.py')
    pipeline = Config(dict(
        dataset=dict(kind='folder', data_root=data['image_dir'], labels_file=data['labels_file'],
                     mask_dir=data['mask_dir'], class_names=data['class_names'], splits=splits),
        methods=methods, default_methods=list(derived['methods']),
        stage1_cfg_options={}, label_split='train',
        eval_split='train_masked' if splits.get('train_masked') else 'train',
        score_labels=bool(splits.get('train_masked')), score_segmentation=bool(splits.get('val')),
        seed_thresholds=tuple(base.get('seed_thresholds', (0.0, 0.95, 0.01))),
        confident_thresholds=base.get('confident_thresholds', 'auto'),
        pseudo_label_device=base.get('pseudo_label_device', 'auto'),
        stage2_config=str(stage2), stage2_cfg_options={},
        test_protocols=[dict(p) for p in base.get('test_protocols') or [dict(name='single-scale')]],
        figures=dict(base.get('figures') or dict(num_images=6))))
    path = save_config(pipeline, configs / 'own_data.py')
    write_json(own / 'derived.json', {'data': {k: v for k, v in data.items()
                                               if k not in ('split_ids', 'metainfo')},
                                      'split_sizes': {k: len(v) for k, v in
                                                      data['split_ids'].items()},
                                      'derived': derived, 'host': platform.node(),
                                      'recorded': recorded})
    return path


def _recorded(data, derived):
    """What ``derived.json`` records of a run's inputs and settings (JSON types)."""
    return json.loads(json.dumps({'data': {k: v for k, v in data.items() if k != 'metainfo'},
                                  'derived': derived}))


def changed_since_last_run(work_dir, data, derived):
    """True when ``work_dir`` holds a run made with other data or settings: its
    complete steps would otherwise be skipped and the table mix two setups."""
    path = Path(work_dir) / 'own_data' / 'derived.json'
    if not path.is_file():
        return False
    old = json.loads(path.read_text())
    return old.get('recorded') != _recorded(data, derived)


def describe(data, derived):
    """The derived settings as the lines printed at the start."""
    sizes = {k: len(v) for k, v in data['split_ids'].items()}
    rows = [
        ('images', f'{data["num_labelled"]} tagged in {data["image_dir"]} '
                   f'({data["num_masks"]} with masks)'),
        ('classes', f'{derived["num_classes"]}: {", ".join(data["class_names"])} '
                    f'(stage 2: {derived["stage2_num_classes"]} with background; VOC palette)'),
        ('splits', f'train {sizes["train"]} (of which {sizes["train_masked"]} score the '
                   f'pseudo-labels), val {sizes["val"]} (score the DeepLab)'),
        ('backbones', derived['backbones']),
        ('methods', ', '.join(derived['methods'])),
        ('image size', f'{derived["image_size"]} px ({derived["image_size_rule"]})'),
        ('stage 1', f'crop {derived["stage1_crop"]}, output stride '
                    f'{derived["stage1_output_stride"]}, batch {derived["stage1_batch"]} '
                    f'({derived["stage1_steps_per_epoch"]} steps/epoch); epochs (steps) '
                    + ', '.join(f'{m} {e} ({derived["stage1_steps_per_method"][m]})'
                                for m, e in derived['stage1_epochs_per_method'].items())),
        ('thresholds', derived['thresholds']),
        ('stage 2', f'crop {derived["stage2_crop"]}, pad size {derived["stage2_pad_size"]}, '
                    f'output stride {derived["stage2_output_stride"]} -> '
                    f'{derived["stage2_feature_map"]}x{derived["stage2_feature_map"]} map, ASPP '
                    f'rates {"/".join(map(str, derived["stage2_dilations"]))}, batch '
                    f'{derived["stage2_batch"]}, {derived["stage2_iters"]} iterations'),
    ]
    width = max(len(k) for k, _ in rows)
    return '\n'.join(f'  {k:<{width}}  {v}' for k, v in rows)


def run_own_data(images, labels, work_dir, masks=None, classes=None, backbone='mobilenetv2',
                 methods=None, image_size=None, iters=None, val_fraction=0.2, seed=0,
                 train_list=None, val_list=None, predict=None, predict_options=None,
                 workers=None, from_step=None, only_step=None):
    """Derive, write the configs, run the pipeline, predict ``predict`` (a folder,
    image or glob of new images) with each method's DeepLab. Returns a dict with
    the results and the prediction folders."""
    data, derived = derive(images, labels, masks=masks, classes=classes, backbone=backbone,
                           methods=methods, image_size=image_size, iters=iters,
                           val_fraction=val_fraction, seed=seed, train_list=train_list,
                           val_list=val_list)
    print('== own data: derived settings (also in '
          f'{Path(work_dir) / "own_data" / "derived.json"})\n{describe(data, derived)}',
          flush=True)
    if from_step is None and only_step is None and changed_since_last_run(work_dir, data,
                                                                          derived):
        print('== own data: the settings differ from the last run in this work dir: every '
              'step is redone', flush=True)
        from_step = 'prepare'
    pipeline = write_run_files(work_dir, data, derived)
    results = run_pipeline(pipeline, work_dir, workers=workers, from_step=from_step,
                           only_step=only_step)
    predictions = {}
    if predict:
        for method in derived['methods']:
            record = Path(work_dir) / method / 'train_seg' / 'step.json'
            if not record.is_file():
                raise PipelineConfigError(f'{record} missing: train_seg has not finished for '
                                          f'{method}; run without --only.')
            checkpoint = json.loads(record.read_text())['result']['checkpoint']
            out = Path(work_dir) / method / 'predict'
            print(f'== predict [{method}]: {predict} -> {out}', flush=True)
            predictions[method] = predict_images(
                str(Path(work_dir) / 'configs' / 'stage2.py'), checkpoint, predict, out,
                **(predict_options or {}))
    return {'results': results, 'predictions': predictions, 'derived': derived,
            'pipeline_config': str(pipeline)}
