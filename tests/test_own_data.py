"""Your own photographs (dataset.kind='folder', tools/run_own_data.py, tools/predict.py).

Real images and masks from ../shared/data/real (labelme's VOC samples, whose
class_names.txt has "potted plant" with a space, VainF's VOC val samples and
icevision's VOC image), shrunk to 48 px and laid out as a user would: nested
folders, jpg and png mixed, masks for some images only, a CSV of class names.
"""
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stage1_cam.datasets.folder import FolderSource
from stage2_seg.config_utils import check_num_classes, load
from stage2_seg.predict import PredictError, predict_images
from wsss_core.dataset_files import DatasetError
from wsss_core.io import read_label_png
from wsss_pipeline.own_data import (OwnDataError, aspp_dilations, changed_since_last_run, derive,
                                    feature_size, stage2_crop, write_run_files)

REPO = Path(__file__).resolve().parents[1]
LABELME = 'labelme/examples/instance_segmentation/data_dataset_voc'


def voc_class_names(real):
    """labelme's VOC class list: _background_ first, 'potted plant', 'tv/monitor'."""
    return real / LABELME / 'class_names.txt'


def real_pairs(real):
    """(group, image path, mask path) of every real VOC sample with a class mask."""
    pairs = [('vainf', p, real / 'vainf-deeplabv3plus/VOClike/SegmentationClass' / p.name)
             for p in sorted((real / 'vainf-deeplabv3plus/VOClike/JPEGImages').glob('*.png'))]
    pairs += [('labelme', p, real / LABELME / 'SegmentationClass' / f'{p.stem}.png')
              for p in sorted((real / LABELME / 'JPEGImages').glob('*.jpg'))]
    pairs.append(('ice', real / 'icevision/samples/voc/JPEGImages/2007_000063.jpg',
                  real / 'icevision/samples/voc/SegmentationClass/2007_000063.png'))
    return pairs


def make_own_folder(real, out, size=48, mask_every=(0, 1)):
    """A user's folder from the real samples: images/<group>/<id>.{png,jpg} (alternating),
    masks/<group>/<id>.png for images whose index % 3 is in ``mask_every``, labels.csv
    with the classes each mask shows, by name."""
    names = [line.strip() for line in voc_class_names(real).read_text().splitlines()][1:]
    rows = []
    for index, (group, image_path, mask_path) in enumerate(real_pairs(real)):
        image = Image.open(image_path).convert('RGB')
        mask = Image.open(mask_path)
        scale = size / max(image.size)
        shape = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image, mask = image.resize(shape, Image.BICUBIC), mask.resize(shape, Image.NEAREST)
        name = f'{group}/{image_path.stem}{".jpg" if index % 2 else ".png"}'
        (out / 'images' / group).mkdir(parents=True, exist_ok=True)
        image.save(out / 'images' / name)
        if index % 3 in mask_every:
            (out / 'masks' / group).mkdir(parents=True, exist_ok=True)
            mask.save(out / 'masks' / group / f'{image_path.stem}.png')
        present = sorted(set(np.unique(np.asarray(mask)).tolist()) - {0, 255})
        rows.append((name, ';'.join(names[c - 1] for c in present)))
    with open(out / 'labels.csv', 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['image', 'labels'])
        writer.writerows(rows)
    return out, rows


def listing(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns)
                  for p in Path(folder).rglob('*'))


# -- the folder source ---------------------------------------------------------

def test_folder_source_reads_real_images_tags_and_masks(tmp_path, real_data):
    root, rows = make_own_folder(real_data, tmp_path / 'mine')
    source = FolderSource(root / 'images', root / 'labels.csv', mask_dir=root / 'masks',
                          class_names=voc_class_names(real_data))
    assert source.class_names[15] == 'potted plant' and source.num_classes == 20
    assert len(source.ids) == len(rows) == 18
    # labelme 2011_000006 shows chair, person, sofa (VOC 9, 15, 18); its id keeps the folder
    assert source.labels('labelme__2011_000006') == [9, 15, 18]
    mask = source.gt_mask('labelme__2011_000006')
    assert set(np.unique(mask)) <= {0, 9, 15, 18, 255} and mask.shape == \
        source.image('labelme__2011_000006').shape[:2]
    with_masks = [i for i in source.ids if source.gt_path(i) is not None]
    assert 0 < len(with_masks) < len(source.ids)
    # without a class list: the labels file's classes, in order of first appearance
    own = FolderSource(root / 'images', root / 'labels.csv')
    first = rows[0][1].split(';')[0]
    assert own.class_names[0] == first and len(own.class_names) < 20


def test_json_labels_with_names(tmp_path, real_data):
    root, rows = make_own_folder(real_data, tmp_path / 'mine')
    table = {name.rsplit('.', 1)[0]: labels.split(';') for name, labels in rows}
    (root / 'labels.json').write_text(json.dumps(table, indent=1))
    source = FolderSource(root / 'images', root / 'labels.json',
                          class_names=voc_class_names(real_data))
    csv_source = FolderSource(root / 'images', root / 'labels.csv',
                              class_names=voc_class_names(real_data))
    assert {i: source.labels(i) for i in source.ids} == \
        {i: csv_source.labels(i) for i in csv_source.ids}
    # the project's labels JSON (1-based indices) reads the same; a conflicting list is refused
    (root / 'project.json').write_text(json.dumps(
        {'class_names': source.class_names, 'labels': {i: source.labels(i) for i in source.ids}}))
    project = FolderSource(root / 'images', root / 'project.json')
    assert {i: project.labels(i) for i in project.ids} == \
        {i: source.labels(i) for i in source.ids}
    with pytest.raises(DatasetError, match='declares the classes'):
        FolderSource(root / 'images', root / 'project.json', class_names=['cat', 'dog'])


def _write_csv(path, rows):
    path.write_text('image,labels\n' + ''.join(f'{a},{b}\n' for a, b in rows))
    return path


@pytest.fixture()
def tiny_folder(tmp_path):
    """Generated 40x30 images a.png, b.jpg, sub/c.png; a mask for a."""
    images = tmp_path / 'images'
    (images / 'sub').mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ('a.png', 'b.jpg', 'sub/c.png'):
        Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(images / name)
    (tmp_path / 'masks').mkdir()
    Image.fromarray(np.zeros((30, 40), np.uint8), mode='L').save(tmp_path / 'masks' / 'a.png')
    return tmp_path


def test_unknown_class_names_file_and_line(tiny_folder):
    labels = _write_csv(tiny_folder / 'labels.csv',
                        [('a.png', 'cat'), ('b.jpg', 'dog'), ('sub/c.png', 'cat;potted plnt')])
    with pytest.raises(DatasetError, match=r"labels\.csv:4: class 'potted plnt' of 'sub/c\.png'"):
        FolderSource(tiny_folder / 'images', labels, class_names=['cat', 'dog', 'potted plant'])


def test_listed_but_missing_image_file_and_line(tiny_folder):
    labels = _write_csv(tiny_folder / 'labels.csv', [('a.png', 'cat'), ('sub/d.jpg', 'dog')])
    with pytest.raises(DatasetError, match=r"labels\.csv:3: image 'sub/d\.jpg' is not in"):
        FolderSource(tiny_folder / 'images', labels)


def test_wrong_size_mask_names_the_file(tiny_folder):
    labels = _write_csv(tiny_folder / 'labels.csv', [('a', 'cat'), ('b', 'dog'), ('sub/c', 'cat')])
    Image.fromarray(np.zeros((31, 40), np.uint8), mode='L').save(tiny_folder / 'masks' / 'a.png')
    with pytest.raises(DatasetError, match=r'mask .*masks/a\.png is 40x31 but image .*a\.png is '
                                           r'40x30'):
        derive(tiny_folder / 'images', labels, masks=tiny_folder / 'masks', methods=['cam'])


def test_exif_rotated_photo_reads_as_stage_2_decodes_it(tiny_folder):
    """A phone photo stored 40x30 with EXIF orientation 6 (shown 30x40): stage 1 sees it
    upright as mmseg's loader does, and its mask is checked against the upright size."""
    import mmcv
    from mmengine import fileio
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(tiny_folder / 'images' / 'b.jpg',
                                                          exif=exif)
    labels = _write_csv(tiny_folder / 'labels.csv', [('a', 'cat'), ('b', 'dog')])
    Image.fromarray(np.zeros((40, 30), np.uint8), mode='L').save(tiny_folder / 'masks' / 'b.png')
    source = FolderSource(tiny_folder / 'images', labels, mask_dir=tiny_folder / 'masks')
    decoded = mmcv.imfrombytes(fileio.get(str(tiny_folder / 'images' / 'b.jpg')), flag='color')
    assert source.image('b').shape == decoded.shape == (40, 30, 3)
    assert source.gt_mask('b').shape == (40, 30)
    Image.fromarray(np.zeros((30, 40), np.uint8), mode='L').save(tiny_folder / 'masks' / 'b.png')
    with pytest.raises(DatasetError, match=r'masks/b\.png is 40x30 but image .*b\.jpg is 30x40'):
        source.gt_mask('b')


def test_two_files_with_one_id_are_refused(tiny_folder):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(tiny_folder / 'images' / 'a.jpg')
    labels = _write_csv(tiny_folder / 'labels.csv', [('a.png', 'cat')])
    with pytest.raises(DatasetError, match=r"a\.jpg and .*a\.png both have the image id 'a'"):
        FolderSource(tiny_folder / 'images', labels)


def test_stage2_folder_dataset_lists_nested_images_and_names_missing_labels(tiny_folder):
    import stage2_seg  # noqa: F401  (registers the datasets)
    from mmseg.registry import DATASETS
    from wsss_core.label_folder import LabelFolderError
    meta = dict(classes=('background', 'cat'), palette=[[0, 0, 0], [128, 0, 0]])
    split = tiny_folder / 'val.txt'
    split.write_text('a\nsub__c\n')
    images = DATASETS.build(dict(type='FolderLabelDirDataset', img_dir=str(tiny_folder / 'images'),
                                 metainfo=meta, pipeline=[]))
    assert [Path(d['img_path']).name for d in images.load_data_list()] == ['a.png', 'b.jpg',
                                                                           'c.png']
    scored = dict(type='FolderLabelDirDataset', img_dir=str(tiny_folder / 'images'),
                  ann_dir=str(tiny_folder / 'masks'), split=str(split), metainfo=meta,
                  pipeline=[])
    with pytest.raises(LabelFolderError, match=r'lacks 1 of the 2 images of the split: sub__c'):
        DATASETS.build(scored)
    (tiny_folder / 'masks' / 'sub').mkdir()
    Image.fromarray(np.zeros((30, 40), np.uint8), mode='L').save(tiny_folder / 'masks/sub/c.png')
    assert len(DATASETS.build(scored)) == 2
    with pytest.raises(LabelFolderError, match='needs metainfo'):
        DATASETS.build(dict(scored, metainfo=None))


# -- derived settings --------------------------------------------------------------

def test_derived_settings_for_320px_photos_match_the_hand_written_real_config(tmp_path):
    """A 320 px set gets what configs/*_mobilenetv2_real.py hold (chosen by hand for the
    real-photo benchmark): stage-1 crop 320 at stride 16, stage-2 crop 321 padded to 321,
    ASPP rates 3/6/9/12 inside the 21x21 map."""
    images = tmp_path / 'images'
    images.mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for index in range(6):
        Image.fromarray(rng.integers(0, 255, (320, 320, 3), dtype=np.uint8)).save(
            images / f'p{index}.jpg')
        rows.append((f'p{index}.jpg', ['cat', 'dog;cat', 'bird'][index % 3]))
    labels = _write_csv(tmp_path / 'labels.csv', rows)
    data, derived = derive(images, labels, methods=['cam', 'bas'], iters=5)
    assert derived['image_size'] == 320 and derived['stage1_output_stride'] == 16
    assert derived['stage2_crop'] == 321 and derived['stage2_pad_size'] >= 321
    assert derived['stage2_feature_map'] == 21
    assert max(derived['stage2_dilations']) < derived['stage2_feature_map']
    assert derived['num_classes'] == 3 and data['class_names'] == ['cat', 'dog', 'bird']
    assert derived['stage1_epochs_per_method'] == {'cam': 5, 'bas': 5}   # batch 6: 5 steps
    assert 'Otsu' in derived['thresholds']  # no masks
    pipeline = write_run_files(tmp_path / 'work', data, derived)
    configs = pipeline.parent
    hand = load(REPO / 'configs/stage2/deeplabv2_mobilenetv2_real.py')
    made = load(configs / 'stage2.py')
    assert made.model.data_preprocessor.size == hand.model.data_preprocessor.size == (321, 321)
    assert tuple(made.model.decode_head.dilations) == tuple(hand.model.decode_head.dilations)
    crop = next(t for t in made.train_dataloader.dataset.pipeline if t.type == 'RandomCrop')
    assert tuple(crop.crop_size) == (321, 321)
    assert made.model.decode_head.num_classes == 4
    assert made.val_dataloader is None   # nothing to score without masks
    check_num_classes(made)
    from stage1_cam.config import load_stage1_config
    stage1 = load_stage1_config(configs / 'stage1_bas.py')
    hand1 = load_stage1_config(REPO / 'configs/stage1/bas_mobilenetv2_real.py')
    assert stage1.train_dataloader.dataset.pipeline == hand1.train_dataloader.dataset.pipeline
    assert stage1.model.backbone.output_stride == hand1.model.backbone.output_stride == 16
    assert stage1.model.num_classes == 3 and stage1.train_cfg.max_epochs == 5
    assert stage1.model.background_norm == hand1.model.background_norm


def test_resnet_on_voc_sized_photos_gets_the_voc_recipe(tmp_path):
    """500x375 photos with --backbone resnet: the VOC configs' crops (448 after a 512
    resize; DeepLab's 321) and rates 6/12/18/24 on the 41x41 stride-8 map; a changed
    choice is detected, so the next run redoes its steps."""
    images = tmp_path / 'images'
    images.mkdir()
    for index in range(4):
        Image.fromarray(np.full((375, 500, 3), 40 * index, np.uint8)).save(images / f'{index}.jpg')
    labels = _write_csv(tmp_path / 'labels.csv', [(f'{i}.jpg', 'cat;dog') for i in range(4)])
    data, derived = derive(images, labels, backbone='resnet', methods=['bas'])
    assert derived['image_size'] == 448 and derived['stage2_crop'] == 321
    assert derived['stage2_dilations'] == (6, 12, 18, 24)
    assert derived['stage2_feature_map'] == 41 and derived['stage2_iters'] == 20000
    configs = write_run_files(tmp_path / 'work', data, derived).parent
    from stage1_cam.config import load_stage1_config
    stage1 = load_stage1_config(configs / 'stage1_bas.py')
    hand = load_stage1_config(REPO / 'configs/stage1/bas_resnet50_voc.py')
    assert stage1.train_dataloader.dataset.pipeline == hand.train_dataloader.dataset.pipeline
    # 4 images, 1 batch: the 10 epochs of 661 batches the VOC schedule makes, as steps
    assert stage1.train_cfg.max_epochs == hand.train_cfg.max_epochs * (10582 // 16)
    assert not changed_since_last_run(tmp_path / 'work', data, derived)
    data, derived = derive(images, labels, backbone='resnet', methods=['bas'], iters=10)
    assert changed_since_last_run(tmp_path / 'work', data, derived)


def _flat(value, prefix=''):
    """{'a.b.0.c': leaf} of a nested config dict (lists of dicts by index)."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
        value = dict(enumerate(value))
    if isinstance(value, dict):
        flat = {}
        for key, item in value.items():
            flat.update(_flat(item, f'{prefix}{key}.'))
        return flat
    return {prefix[:-1]: value}


def test_400_photos_of_320px_get_exactly_the_real_photo_benchmark_settings(tmp_path):
    """What a careful user chose by hand for 400 photos of 320 px (configs/pipeline/
    real_photos.py and its stage configs, as the pipeline resolves them): the generated
    stage-1 configs equal them but for the data source, the stage-2 config in model,
    schedule, crop and pad size."""
    from wsss_core.classes import VOC_CLASSES
    from wsss_pipeline.settings import (load_settings, stage1_config, stage1_options,
                                        stage2_config, stage2_options)
    from stage1_cam.config import load_stage1_config
    images = tmp_path / 'images'
    images.mkdir()
    rows = []
    for index in range(400):
        Image.fromarray(np.full((320, 320, 3), index % 250, np.uint8)).save(
            images / f'{index:03d}.jpg')
        rows.append((f'{index:03d}.jpg', VOC_CLASSES[index % 20]))
    labels = _write_csv(tmp_path / 'labels.csv', rows)
    data, derived = derive(images, labels, classes=list(VOC_CLASSES), methods=['cam', 'bas'])
    own = load_settings(write_run_files(tmp_path / 'work', data, derived))
    hand = load_settings(REPO / 'configs/pipeline/real_photos.py', methods=['cam', 'bas'])
    for method in ('cam', 'bas'):
        made, chosen = (_flat(load_stage1_config(stage1_config(s, method),
                                                 cfg_options=stage1_options(s, method)).to_dict())
                        for s in (own, hand))
        differ = {k for k in set(made) | set(chosen) if made.get(k) != chosen.get(k)}
        assert {k for k in differ if '.source.' not in k} == {'data_root'}, method
    made, chosen = (_flat(load(stage2_config(s), cfg_options=stage2_options(s)).to_dict())
                    for s in (own, hand))
    for key in set(made) | set(chosen):
        if key.startswith(('model.', 'optim_wrapper.', 'param_scheduler.', 'train_cfg.',
                           'crf.', 'tta_scales', 'crop_size')) or \
                key.startswith('train_dataloader.') and '.dataset.' not in key or \
                key.startswith('train_dataloader.dataset.pipeline.'):
            assert made.get(key) == chosen.get(key), key


@pytest.mark.parametrize('size', [32, 48, 64, 128, 200, 320, 500, 1024])
def test_pad_covers_crop_and_rates_stay_inside_the_map(size):
    crop = stage2_crop(size)
    assert crop >= size + 1 and (crop - 1) % 8 == 0
    for stride in (8, 16):
        side = feature_size(crop, stride)
        rates = aspp_dilations(crop, stride)
        assert all(1 <= r < max(side, 2) for r in rates)
        assert list(rates) == sorted(rates)
    assert aspp_dilations(321, 8) == (6, 12, 18, 24)   # the VOC recipe itself


def test_choices_are_checked(tiny_folder):
    labels = _write_csv(tiny_folder / 'labels.csv', [('a', 'cat'), ('b', 'dog')])
    with pytest.raises(OwnDataError, match='--backbone'):
        derive(tiny_folder / 'images', labels, backbone='vgg')
    with pytest.raises(OwnDataError, match="unknown method.*'cma'"):
        derive(tiny_folder / 'images', labels, methods=['cma'])


def test_without_masks_the_scoring_steps_are_skipped(tiny_folder):
    from wsss_pipeline.settings import load_settings
    from wsss_pipeline.steps import Context, eval_labels, test_seg
    labels = _write_csv(tiny_folder / 'labels.csv', [('a', 'cat'), ('b', 'dog'), ('sub/c', 'cat')])
    data, derived = derive(tiny_folder / 'images', labels, methods=['cam'], iters=1)
    settings = load_settings(write_run_files(tiny_folder / 'work', data, derived))
    ctx = Context(settings, tiny_folder / 'work', workers=0)
    assert settings.score_labels is False and settings.score_segmentation is False
    assert 'no ground-truth' in eval_labels(ctx, 'cam')['skipped']
    assert test_seg(ctx, 'cam')['metrics'] == {}


def test_work_dir_inside_the_image_folder_is_refused(tiny_folder):
    labels = _write_csv(tiny_folder / 'labels.csv', [('a', 'cat'), ('b', 'dog')])
    data, derived = derive(tiny_folder / 'images', labels, methods=['cam'], iters=1)
    with pytest.raises(OwnDataError, match='inside the images folder'):
        write_run_files(tiny_folder / 'images' / 'work', data, derived)


# -- one command on real images, then masks for new ones ---------------------------

@pytest.fixture(scope='module')
def own_run(tmp_path_factory, real_data):
    """tools/run_own_data.py on 18 real 48 px photos (12 with masks), CAM, 2 iterations
    per training, masks predicted for two new real photos (icevision's COCO images)."""
    base = tmp_path_factory.mktemp('own')
    root, rows = make_own_folder(real_data, base / 'mine')
    new = base / 'new_photos'
    new.mkdir()
    for name in ('000000128372.jpg', '000000404249.jpg'):
        image = Image.open(real_data / 'icevision/samples/images' / name).convert('RGB')
        image.thumbnail((64, 64))
        image.save(new / name)
    before = listing(root)
    work = base / 'work'
    command = [sys.executable, str(REPO / 'tools/run_own_data.py'),
               '--images', str(root / 'images'),
               '--labels', str(root / 'labels.csv'), '--masks', str(root / 'masks'),
               '--classes', str(voc_class_names(real_data)), '--methods', 'cam', '--iters', '2',
               '--work-dir', str(work), '--predict', str(new), '--sheet', '--workers', '1']
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return dict(root=root, rows=rows, work=work, new=new, before=before, stdout=done.stdout)


def test_one_command_from_tags_to_table_and_new_masks(own_run):
    work, root = own_run['work'], own_run['root']
    assert 'ASPP rates' in own_run['stdout'] and 'crop 49, pad size 49' in own_run['stdout']
    derived = json.loads((work / 'own_data' / 'derived.json').read_text())
    assert derived['derived']['stage2_dilations'] == [1, 1, 2, 2]   # on the 4x4 map of 49
    results = json.loads((work / 'results.json').read_text())
    row = results['methods']['cam']
    assert row['seed_miou'] is not None and row['label_miou'] is not None
    assert set(row['seg_miou']) == {'single-scale', 'MS+flip+CRF'}
    assert all(v is not None for v in row['seg_miou'].values())
    assert '| CAM |' in (work / 'results.md').read_text()
    # pseudo-labels for every training image, named by id
    train = (work / 'own_data/splits/train.txt').read_text().split()
    labels = sorted(p.stem for p in (work / 'cam/make_pseudo_labels/labels').glob('*.png'))
    assert labels == sorted(train) and 'labelme__2011_000006' in labels + \
        (work / 'own_data/splits/val.txt').read_text().split()
    # masks and overlays for the new photos, at their size
    predicted = work / 'cam' / 'predict'
    for image in own_run['new'].iterdir():
        mask = read_label_png(predicted / 'masks' / f'{image.stem}.png')
        assert mask.shape == Image.open(image).size[::-1]
        assert mask.max() <= 20
        assert (predicted / 'overlays' / f'{image.stem}.jpg').is_file()
    assert (predicted / 'sheet.jpg').is_file()
    # the user's folders are read, never written
    assert listing(root) == own_run['before']


def test_mmseg_inferencer_reads_the_generated_config_and_checkpoint(own_run):
    """mmseg's own MMSegInferencer: the plugin comes in through custom_imports (which also
    allow-lists mmengine's checkpoint types), and it predicts what tools/predict.py does."""
    from mmseg.apis import MMSegInferencer
    from stage2_seg.predict import build_predictor, predict_one
    work = own_run['work']
    record = json.loads((work / 'cam/train_seg/step.json').read_text())
    checkpoint = record['result']['checkpoint']
    image = sorted(own_run['new'].iterdir())[0]
    inferencer = MMSegInferencer(model=str(work / 'configs/stage2.py'), weights=checkpoint,
                                 device='cpu')
    result = inferencer(str(image), return_datasamples=True)
    assert inferencer.model.dataset_meta['classes'][16] == 'potted plant'
    model, pipeline, names = build_predictor(work / 'configs/stage2.py', checkpoint)
    ours = predict_one(model, pipeline, image)
    assert np.array_equal(ours, result.pred_sem_seg.data[0].cpu().numpy())
    assert names == list(inferencer.model.dataset_meta['classes'])


def test_predict_cli_glob_with_tta_and_refusing_the_input_folder(own_run, tmp_path):
    work = own_run['work']
    checkpoint = json.loads((work / 'cam/train_seg/step.json').read_text())['result']['checkpoint']
    tool = [sys.executable, str(REPO / 'tools/predict.py'), str(work / 'configs/stage2.py'),
            checkpoint]
    out = tmp_path / 'preds'
    done = subprocess.run(tool + [str(own_run['new'] / '*.jpg'), '--out', str(out), '--ms',
                                  '--flip', '--crf', '--scales', '0.75', '1.0'],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((out / 'predictions.json').read_text())
    assert summary['num_images'] == 2 and summary['protocol'] == {'ms': True, 'flip': True,
                                                                   'crf': True}
    assert len(list((out / 'masks').glob('*.png'))) == 2
    with pytest.raises(PredictError, match='inside the input folder'):
        predict_images(work / 'configs/stage2.py', checkpoint, own_run['new'],
                       own_run['new'] / 'out')
    assert not (own_run['new'] / 'out').exists()
