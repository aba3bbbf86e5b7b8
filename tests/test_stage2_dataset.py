"""LabelDirDataset: reads pseudo-labels and GT alike, refuses unusable folders."""
import json

import numpy as np
import pytest
from scipy import ndimage

from test_stage2_support import make_demo_data, make_pseudo_labels, split_ids
import stage2_seg  # noqa: F401
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, TRANSFORMS
from wsss_core.io import read_label_png
from stage2_seg.datasets import COCO_CLASSES, LabelFolderError

init_default_scope('mmseg')

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')]


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return make_demo_data(tmp_path_factory.mktemp('demo'))


def build(data_root, ann_dir, split='train', dataset_type='DemoLabelDirDataset', **kwargs):
    split_file = data_root / 'ImageSets' / 'Segmentation' / f'{split}.txt'
    cfg = dict(type=dataset_type, img_dir=str(data_root / 'JPEGImages'), ann_dir=str(ann_dir),
               split=str(split_file) if split else None, pipeline=PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_reads_pseudo_labels_as_class_indices(data, tmp_path):
    out = make_pseudo_labels(data, tmp_path / 'pl')
    dataset = build(data, out / 'labels')
    ids = split_ids(data)
    assert len(dataset) == len(ids)
    assert dataset.metainfo['classes'][0] == 'background' and len(dataset.metainfo['classes']) == 7
    assert dataset.manifest_info['method'] == 'BAS'
    item = dataset[0]
    label = item['data_samples'].gt_sem_seg.data.numpy()[0]
    expected = read_label_png(out / 'labels' / f'{ids[0]}.png')
    np.testing.assert_array_equal(label, expected)   # palette indices, 255 kept
    assert 255 in label and label[label != 255].max() <= 6
    assert item['inputs'].shape == (3, 64, 64)


def test_ground_truth_folder_needs_no_manifest(data):
    dataset = build(data, data / 'SegmentationClass', split='val', test_mode=True)
    assert len(dataset) == 3 and dataset.manifest_info is None


def test_without_split_the_ids_are_the_label_files(data, tmp_path):
    out = make_pseudo_labels(data, tmp_path / 'pl')
    dataset = build(data, out / 'labels', split=None)
    assert len(dataset) == len(split_ids(data))


def test_incomplete_folder_refused(data, tmp_path):
    ids = split_ids(data)
    out = make_pseudo_labels(data, tmp_path / 'pl', complete=False, skip=ids[:2])
    with pytest.raises(LabelFolderError) as err:
        build(data, out / 'labels')
    message = str(err.value)
    assert str(out) in message and 'incomplete' in message
    assert f'{len(ids) - 2} of {len(ids)}' in message
    assert 'tools/make_pseudo_labels.py again' in message


def test_unmerged_shards_refused(data, tmp_path):
    out = make_pseudo_labels(data, tmp_path / 'pl')
    manifest = json.loads((out / 'manifest.json').read_text())
    (out / 'manifest.json').unlink()
    manifest.update(shard=[0, 2])
    (out / 'manifest.shard-0-of-2.json').write_text(json.dumps(manifest))
    with pytest.raises(LabelFolderError, match='remaining shards') as err:
        build(data, out / 'labels')
    assert str(out) in str(err.value)


def test_other_classes_refused(data, tmp_path):
    out = make_pseudo_labels(data, tmp_path / 'pl')
    with pytest.raises(LabelFolderError) as err:   # demo labels, VOC dataset
        build(data, out / 'labels', dataset_type='LabelDirDataset')
    message = str(err.value)
    assert str(out) in message and '6 classes' in message and '20 foreground' in message
    wrong = make_pseudo_labels(data, tmp_path / 'pl2', class_names=['a', 'b'])
    with pytest.raises(LabelFolderError, match='2 classes'):
        build(data, wrong / 'labels')


def test_missing_label_refused(data, tmp_path):
    ids = split_ids(data)
    out = make_pseudo_labels(data, tmp_path / 'pl')
    (out / 'labels' / f'{ids[3]}.png').unlink()   # manifest says complete, file gone
    with pytest.raises(LabelFolderError) as err:
        build(data, out / 'labels')
    assert str(out / 'labels') in str(err.value) and ids[3] in str(err.value)
    with pytest.raises(LabelFolderError, match='val_00001'):   # GT folder, missing file
        gt = tmp_path / 'gt'
        gt.mkdir()
        (gt / 'val_00000.png').write_bytes((data / 'SegmentationClass' / 'val_00000.png')
                                           .read_bytes())
        build(data, gt, split='val')


def test_output_folder_instead_of_labels_refused(data, tmp_path):
    out = make_pseudo_labels(data, tmp_path / 'pl')
    with pytest.raises(LabelFolderError, match='labels'):
        build(data, out)
    with pytest.raises(LabelFolderError, match='not found'):
        build(data, tmp_path / 'nowhere' / 'labels')


def test_class_lists():
    voc = DATASETS.get('LabelDirDataset').METAINFO
    coco = DATASETS.get('COCOObjectLabelDirDataset').METAINFO
    assert len(voc['classes']) == 21 and voc['classes'][15] == 'person'
    assert len(coco['classes']) == 81 and coco['classes'][1] == 'person'
    assert coco['classes'][-1] == 'toothbrush'
    assert len(voc['palette']) == 21 and voc['palette'][1] == [128, 0, 0]


def test_coco_names_match_instance_annotations(real_data):
    path = real_data / 'super-gradients' / 'tests' / 'data' / 'tinycoco' / 'annotations' / \
        'instances_val2017.json'
    categories = sorted(json.loads(path.read_text())['categories'], key=lambda c: c['id'])
    assert tuple(c['name'] for c in categories) == COCO_CLASSES


def test_random_rescale_keeps_labels_aligned():
    np.random.seed(0)
    transform = TRANSFORMS.build(dict(type='RandomRescale', ratio_range=(0.5, 2.0)))
    image = np.zeros((40, 60, 3), np.uint8)
    label = np.zeros((40, 60), np.uint8)
    image[10:20, 20:40] = 200
    label[10:20, 20:40] = 3
    label[0, 0] = 255
    for _ in range(5):
        out = transform(dict(img=image.copy(), gt_seg_map=label.copy(),
                             seg_fields=['gt_seg_map']))
        h, w = out['img'].shape[:2]
        assert out['gt_seg_map'].shape == (h, w) and 20 <= h <= 80 and abs(w / h - 1.5) < 0.05
        assert set(np.unique(out['gt_seg_map'])) <= {0, 3, 255}   # nearest: no new values
        inside = ndimage.binary_erosion(out['gt_seg_map'] == 3, iterations=2)
        assert inside.any() and (out['img'][inside] == 200).all()
