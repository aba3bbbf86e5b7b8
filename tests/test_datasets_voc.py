"""VOCSource, labels_from_xml, load_irn_cls_labels and tools/prepare_voc.py.

Real samples (../shared/data/real, via the ``real_data`` fixture) check that
labels agree across XML, IRN's cls_labels.npy and the GT masks; small folders
generated in tmp_path check each error path.
"""
import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stage1_cam.datasets import (VOC_CLASSES, DatasetError, VOCSource, build_voc_labels,
                                 labels_from_xml, load_irn_cls_labels, read_split_list,
                                 write_labels_json)
from wsss_core.io import write_label_png
from stage1_cam.registry import SOURCES

REPO_ROOT = Path(__file__).resolve().parents[1]
CHAIR, DOG, PERSON = 9, 12, 15


# -- helpers ---------------------------------------------------------------

def icevision_voc(real_data):
    return real_data / 'icevision' / 'samples' / 'voc'


def irn_npy(real_data):
    return real_data / 'irn-voc12-labels' / 'voc12' / 'cls_labels.npy'


def write_list(path, ids):
    path.write_text(''.join(f'{i}\n' for i in ids))
    return path


def labels_from_masks(source_root, ids, gt_dir='SegmentationClass'):
    """Image-level labels of a folder without XMLs: the classes its GT shows."""
    labels = {}
    for image_id in ids:
        values = np.unique(np.array(Image.open(source_root / gt_dir / f'{image_id}.png')))
        labels[image_id] = [int(v) for v in values if v not in (0, 255)]
    return labels


def voc_xml(objects, parts=()):
    body = ''.join(f'<object><name>{name}</name><difficult>0</difficult></object>'
                   for name in objects)
    part_xml = ''.join(f'<part><name>{p}</name></part>' for p in parts)
    if parts:  # person-layout style: parts nested inside a person object
        body += f'<object><name>person</name>{part_xml}</object>'
    return f'<annotation><filename>x.jpg</filename>{body}</annotation>'


@pytest.fixture
def tiny_voc(tmp_path):
    """A generated VOC-layout folder: 3 JPEGs with XMLs, a train list, one GT mask."""
    root = tmp_path / 'VOC2012'
    (root / 'JPEGImages').mkdir(parents=True)
    (root / 'Annotations').mkdir()
    (root / 'ImageSets' / 'Segmentation').mkdir(parents=True)
    objects = {'2008_000001': ['dog', 'person', 'dog'], '2008_000002': ['chair'],
               '2008_000003': ['aeroplane']}
    for image_id, names in objects.items():
        Image.new('RGB', (40, 30), (10, 20, 30)).save(root / 'JPEGImages' / f'{image_id}.jpg')
        (root / 'Annotations' / f'{image_id}.xml').write_text(voc_xml(names))
    write_list(root / 'ImageSets' / 'Segmentation' / 'train.txt', list(objects))
    mask = np.zeros((30, 40), np.uint8)
    mask[5:10, 5:10] = DOG
    mask[0, :] = 255
    write_label_png(root / 'SegmentationClass' / '2008_000001.png', mask)
    return root


# -- labels from the real sample ------------------------------------------

def test_voc_classes_standard_order():
    assert len(VOC_CLASSES) == 20
    assert VOC_CLASSES[0] == 'aeroplane' and VOC_CLASSES[-1] == 'tvmonitor'
    assert VOC_CLASSES[CHAIR - 1] == 'chair' and VOC_CLASSES[DOG - 1] == 'dog'
    assert VOC_CLASSES[PERSON - 1] == 'person'


def test_xml_labels_match_irn_and_gt_mask(real_data):
    root = icevision_voc(real_data)
    from_xml = labels_from_xml(root / 'Annotations' / '2007_000063.xml', VOC_CLASSES)
    assert from_xml == [CHAIR, DOG]
    from_irn = load_irn_cls_labels(irn_npy(real_data))
    assert from_irn['2007_000063'] == from_xml
    mask = np.array(Image.open(root / 'SegmentationClass' / '2007_000063.png'))
    mask_values = set(np.unique(mask))
    assert mask_values - {0, 255} == set(from_xml)


def test_irn_cls_labels_keys_and_size(real_data):
    labels = load_irn_cls_labels(irn_npy(real_data))
    assert len(labels) == 12031
    assert all(len(k) == 11 and k[4] == '_' for k in labels)
    # every id of IRN's own train_aug list has a label, and the first one is aeroplane+person
    train_aug = read_split_list(real_data / 'irn-voc12-labels' / 'voc12' / 'train_aug.txt')
    assert all(i in labels for i in train_aug)
    assert labels['2007_000032'] == [1, PERSON]
    assert all(1 <= c <= 20 for v in labels.values() for c in v)


def test_voc_source_on_real_sample(real_data, tmp_path):
    root = icevision_voc(real_data)
    split = write_list(tmp_path / 'ids.txt', ['2007_000063', '2011_003353'])
    source = VOCSource(root, split_file=split)
    assert source.ids == ['2007_000063', '2011_003353']
    assert source.num_classes == 20
    assert source.labels('2007_000063') == [CHAIR, DOG]
    assert source.labels('2011_003353') == [PERSON]  # action-layout XML, no mask
    image = source.image('2007_000063')
    assert image.shape == (375, 500, 3) and image.dtype == np.uint8
    mask = source.gt_mask('2007_000063')
    assert mask.shape == (375, 500) and mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, CHAIR, DOG, 255}
    assert source.gt_mask('2011_003353') is None


def test_voc_source_from_irn_npy_and_registry(real_data, tmp_path):
    root = icevision_voc(real_data)
    split = write_list(tmp_path / 'ids.txt', ['2007_000063'])
    source = SOURCES.build(dict(type='VOC', data_root=str(root), split_file=str(split),
                                cls_labels_npy=str(irn_npy(real_data))))
    assert isinstance(source, VOCSource)
    assert source.labels('2007_000063') == [CHAIR, DOG]


def test_image_missing_from_npy_is_named(real_data, tmp_path):
    # 2011_003353 is an action-classification image: IRN's npy has no label for it.
    root = icevision_voc(real_data)
    split = write_list(tmp_path / 'ids.txt', ['2007_000063', '2011_003353'])
    with pytest.raises(DatasetError) as err:
        VOCSource(root, split_file=split, cls_labels_npy=irn_npy(real_data))
    assert "'2011_003353'" in str(err.value) and str(irn_npy(real_data)) in str(err.value)
    source = VOCSource(root, split_file=split, cls_labels_npy=irn_npy(real_data),
                       require_labels=False)
    with pytest.raises(DatasetError, match='2011_003353'):
        source.labels('2011_003353')


def test_irn_list_against_partial_folder_names_missing_image(real_data):
    # IRN's train list names 1464 images; the sample folder holds only one of them.
    train_list = real_data / 'irn-voc12-labels' / 'voc12' / 'train.txt'
    with pytest.raises(DatasetError) as err:
        VOCSource(icevision_voc(real_data), split_file=train_list)
    message = str(err.value)
    assert str(train_list) in message and 'JPEGImages' in message and 'Fix the list' in message


def test_default_split_path_missing(real_data):
    with pytest.raises(DatasetError, match=r'ImageSets/Segmentation/train\.txt'):
        VOCSource(icevision_voc(real_data))


# -- other VOC-layout folders ----------------------------------------------

def test_vainf_voclike_png_images(real_data, tmp_path):
    root = real_data / 'vainf-deeplabv3plus' / 'VOClike'
    ids = read_split_list(root / 'val.txt')
    labels_file = tmp_path / 'vainf_labels.json'
    expected = labels_from_masks(root, ids)
    write_labels_json(labels_file, VOC_CLASSES, expected)

    source = VOCSource(root, split_file=root / 'val.txt', labels_file=labels_file)
    assert len(source) == 14
    for image_id in source.ids:
        assert source.image_path(image_id).suffix == '.png'
        assert source.labels(image_id) == expected[image_id]
        assert source.labels(image_id)  # every val crop shows at least one object
    image = source.image(ids[0])
    mask = source.gt_mask(ids[0])
    assert image.shape == (513, 513, 3) and image.dtype == np.uint8
    assert mask.shape == (513, 513)
    assert set(np.unique(mask)) <= set(range(21)) | {255}


def test_vainf_without_labels_names_the_source(real_data):
    root = real_data / 'vainf-deeplabv3plus' / 'VOClike'
    with pytest.raises(DatasetError) as err:
        VOCSource(root, split_file=root / 'val.txt')
    assert 'vainf_val_0000' in str(err.value) and 'Annotations' in str(err.value)


def labelme_class_names(root):
    names = (root / 'class_names.txt').read_text().splitlines()
    assert names[0] == '_background_'
    return names[1:]


def test_labelme_voc_export_with_its_own_class_names(real_data, tmp_path):
    root = real_data / 'labelme' / 'examples' / 'instance_segmentation' / 'data_dataset_voc'
    class_names = labelme_class_names(root)
    assert 'potted plant' in class_names and len(class_names) == 20
    ids = sorted(p.stem for p in (root / 'JPEGImages').glob('*.jpg'))
    split = write_list(tmp_path / 'labelme.txt', ids)
    labels_file = tmp_path / 'labelme_labels.json'
    write_labels_json(labels_file, class_names, labels_from_masks(root, ids))

    source = VOCSource(root, split_file=split, labels_file=labels_file, class_names=class_names)
    assert source.ids == ['2011_000003', '2011_000006', '2011_000025']
    assert source.class_names == class_names
    assert source.labels('2011_000003') == [5, PERSON]
    for image_id in ids:
        image, mask = source.image(image_id), source.gt_mask(image_id)
        assert image.shape[:2] == mask.shape and image.shape[2] == 3


def test_labels_json_with_other_classes_is_rejected(real_data, tmp_path):
    root = real_data / 'labelme' / 'examples' / 'instance_segmentation' / 'data_dataset_voc'
    split = write_list(tmp_path / 'labelme.txt', ['2011_000003'])
    labels_file = tmp_path / 'labelme_labels.json'
    write_labels_json(labels_file, labelme_class_names(root), {'2011_000003': [5, 15]})
    with pytest.raises(DatasetError, match=str(labels_file)):
        VOCSource(root, split_file=split, labels_file=labels_file)  # default VOC_CLASSES


# -- generated folders: every error names the file --------------------------

def test_tiny_voc_default_split_and_xml_labels(tiny_voc):
    source = VOCSource(tiny_voc)
    assert source.ids == ['2008_000001', '2008_000002', '2008_000003']
    assert source.labels('2008_000001') == [DOG, PERSON]  # duplicates collapse
    assert source.labels('2008_000003') == [1]
    assert source.gt_mask('2008_000002') is None
    assert source.gt_mask('2008_000001')[7, 7] == DOG


def test_split_with_missing_image(tiny_voc):
    split = write_list(tiny_voc / 'ImageSets' / 'Segmentation' / 'bad.txt',
                       ['2008_000001', '2008_999999'])
    with pytest.raises(DatasetError) as err:
        VOCSource(tiny_voc, split='bad')
    message = str(err.value)
    assert str(split) in message and '2008_999999.jpg' in message and 'Fix the list' in message


def test_split_with_duplicate_id(tiny_voc):
    split = write_list(tiny_voc / 'dup.txt', ['2008_000001', '2008_000002', '2008_000001'])
    with pytest.raises(DatasetError, match=rf"{split}:3: duplicate image id '2008_000001'"):
        VOCSource(tiny_voc, split_file=split)


def test_l2g_style_list(tiny_voc):
    split = tiny_voc / 'l2g.txt'
    split.write_text('/JPEGImages/2008_000002.jpg /SegmentationClassAug/2008_000002.png\n\n'
                     '/JPEGImages/2008_000003.jpg /SegmentationClassAug/2008_000003.png\n')
    assert VOCSource(tiny_voc, split_file=split).ids == ['2008_000002', '2008_000003']


def test_image_without_label(tiny_voc):
    (tiny_voc / 'Annotations' / '2008_000002.xml').unlink()
    with pytest.raises(DatasetError) as err:
        VOCSource(tiny_voc)
    assert '2008_000002' in str(err.value) and 'Annotations' in str(err.value)
    source = VOCSource(tiny_voc, require_labels=False)
    with pytest.raises(DatasetError, match='2008_000002'):
        source.labels('2008_000002')


def test_labels_json_missing_an_id(tiny_voc, tmp_path):
    labels_file = tmp_path / 'labels.json'
    write_labels_json(labels_file, VOC_CLASSES, {'2008_000001': [DOG], '2008_000003': [1]})
    with pytest.raises(DatasetError) as err:
        VOCSource(tiny_voc, labels_file=labels_file)
    assert '2008_000002' in str(err.value) and str(labels_file) in str(err.value)


def test_labels_json_class_mismatch(tiny_voc, tmp_path):
    labels_file = tmp_path / 'coco_labels.json'
    write_labels_json(labels_file, ['person', 'bicycle'], {'2008_000001': [1]})
    with pytest.raises(DatasetError, match=str(labels_file)):
        VOCSource(tiny_voc, labels_file=labels_file)


def test_gt_dirs_order(tiny_voc):
    aug = np.full((30, 40), CHAIR, np.uint8)
    write_label_png(tiny_voc / 'SegmentationClassAug' / '2008_000001.png', aug)
    write_label_png(tiny_voc / 'SegmentationClassAug' / '2008_000002.png', aug)
    source = VOCSource(tiny_voc)
    assert source.gt_mask('2008_000001')[7, 7] == DOG  # SegmentationClass wins
    assert source.gt_mask('2008_000002')[7, 7] == CHAIR  # falls back to Aug
    aug_only = VOCSource(tiny_voc, gt_dirs=('SegmentationClassAug',))
    assert aug_only.gt_mask('2008_000001')[7, 7] == CHAIR


def test_gt_mask_size_mismatch_names_both_files(tiny_voc):
    taller = np.zeros((31, 40), np.uint8)
    write_label_png(tiny_voc / 'SegmentationClass' / '2008_000002.png', taller)
    source = VOCSource(tiny_voc)
    with pytest.raises(DatasetError) as err:
        source.gt_mask('2008_000002')
    assert 'SegmentationClass/2008_000002.png' in str(err.value)
    assert 'JPEGImages/2008_000002.jpg' in str(err.value)


def test_rgb_gt_mask_is_rejected(tiny_voc):
    Image.new('RGB', (40, 30)).save(tiny_voc / 'SegmentationClass' / '2008_000002.png')
    with pytest.raises(DatasetError, match='2008_000002.png'):
        VOCSource(tiny_voc).gt_mask('2008_000002')


def test_xml_unknown_class_and_parts(tmp_path):
    xml = tmp_path / 'bad.xml'
    xml.write_text(voc_xml(['dog', 'unicorn']))
    with pytest.raises(DatasetError) as err:
        labels_from_xml(xml, VOC_CLASSES)
    assert str(xml) in str(err.value) and "'unicorn'" in str(err.value)
    # person-layout parts (head, hand) are not object classes
    layout = tmp_path / 'layout.xml'
    layout.write_text(voc_xml(['chair'], parts=['head', 'hand']))
    assert labels_from_xml(layout, VOC_CLASSES) == [CHAIR, PERSON]


def test_corrupt_xml_names_file(tmp_path):
    xml = tmp_path / 'broken.xml'
    xml.write_text('<annotation><object><name>dog</name>')
    with pytest.raises(DatasetError, match=str(xml)):
        labels_from_xml(xml, VOC_CLASSES)


def test_irn_npy_with_wrong_vector_size(tmp_path):
    npy = tmp_path / 'cls_labels.npy'
    np.save(npy, {2007000032: np.ones(21, np.float32)})
    with pytest.raises(DatasetError, match='2007_000032'):
        load_irn_cls_labels(npy)


# -- prepare_voc -------------------------------------------------------------

def run_prepare_voc(*args):
    command = [sys.executable, str(REPO_ROOT / 'tools' / 'prepare_voc.py'), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)


def load_tool():
    """The CLI's namespace, in-process (a subprocess costs seconds of imports)."""
    return runpy.run_path(str(REPO_ROOT / 'tools' / 'prepare_voc.py'), run_name='prepare_voc')


def test_prepare_voc_cli_from_xml(real_data, tmp_path):
    root = icevision_voc(real_data)
    before = sorted(p for p in root.rglob('*'))
    out = tmp_path / 'out' / 'voc_labels.json'
    result = run_prepare_voc('--voc-root', root, '--out', out)
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data['class_names'] == list(VOC_CLASSES)
    assert data['labels'] == {'2007_000063': [CHAIR, DOG], '2011_003353': [PERSON]}
    assert sorted(p for p in root.rglob('*')) == before  # nothing written in the VOC root
    assert not list(out.parent.glob('.*.tmp'))  # atomic write left no temp file


def test_prepare_voc_cli_from_irn_npy_and_lists(real_data, tmp_path):
    irn = real_data / 'irn-voc12-labels' / 'voc12'
    out = tmp_path / 'irn_labels.json'
    load_tool()['main'](['--voc-root', str(icevision_voc(real_data)), '--out', str(out),
                         '--cls-labels-npy', str(irn / 'cls_labels.npy'),
                         '--ids-from-list', str(irn / 'train.txt'), str(irn / 'val.txt')])
    labels = json.loads(out.read_text())['labels']
    assert len(labels) == 1464 + 1449
    assert labels['2007_000063'] == [CHAIR, DOG]
    assert list(labels)[:2] == read_split_list(irn / 'train.txt')[:2]  # list order kept


def test_prepare_voc_labels_feed_voc_source(tiny_voc, tmp_path):
    out = tmp_path / 'labels.json'
    labels = build_voc_labels(tiny_voc, out, progress=False)
    assert labels == {'2008_000001': [DOG, PERSON], '2008_000002': [CHAIR], '2008_000003': [1]}
    source = VOCSource(tiny_voc, labels_file=out)
    assert source.labels('2008_000001') == [DOG, PERSON]


def test_prepare_voc_refuses_to_write_inside_root(tiny_voc):
    out = tiny_voc / 'labels.json'
    with pytest.raises(DatasetError, match='inside the VOC root'):
        build_voc_labels(tiny_voc, out, progress=False)
    with pytest.raises(DatasetError, match='inside the VOC root'):  # however it is spelled
        build_voc_labels(tiny_voc, tiny_voc / 'Annotations' / '..' / 'l.json', progress=False)
    assert not out.exists()


def test_prepare_voc_list_id_without_xml(tiny_voc, tmp_path):
    id_list = write_list(tmp_path / 'ids.txt', ['2008_000001', '2008_000404'])
    out = tmp_path / 'l.json'
    with pytest.raises(DatasetError, match=r'2008_000404\.xml'):
        build_voc_labels(tiny_voc, out, id_lists=[id_list], progress=False)
    assert not out.exists()


def test_prepare_voc_cli_error_exit(tmp_path):
    """A DatasetError ends the CLI with a one-line message, not a traceback."""
    with pytest.raises(SystemExit) as exit_info:
        load_tool()['main'](['--voc-root', str(tmp_path / 'no_such_root'),
                             '--out', str(tmp_path / 'l.json')])
    assert 'no_such_root' in str(exit_info.value.code)
