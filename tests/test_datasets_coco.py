"""COCOSource on real COCO instance annotations (icevision samples, tinycoco).

Expected labels are computed from the raw JSON with the json module, so the
check does not lean on pycocotools' index that COCOSource itself uses.
"""
import json
import logging

import numpy as np
import pytest
from PIL import Image

from stage1_cam.datasets import COCOSource, DatasetError
from stage1_cam.registry import SOURCES


def icevision(real_data):
    return real_data / 'icevision' / 'samples' / 'images', \
        real_data / 'icevision' / 'samples' / 'annotations.json'


def tinycoco(real_data, split):
    root = real_data / 'super-gradients' / 'tests' / 'data' / 'tinycoco'
    return root / 'images' / f'{split}2017', root / 'annotations' / f'instances_{split}2017.json'


def raw_category_ids(ann_file):
    """{file stem: set of category ids}, for every image in the JSON."""
    data = json.loads(ann_file.read_text())
    stem = {img['id']: img['file_name'].rsplit('.', 1)[0] for img in data['images']}
    cats = {s: set() for s in stem.values()}
    for ann in data['annotations']:
        cats[stem[ann['image_id']]].add(ann['category_id'])
    return data, cats


def check_labels_match_json(source, ann_file):
    data, cats = raw_category_ids(ann_file)
    by_id = sorted(data['categories'], key=lambda c: c['id'])
    assert source.class_names == [c['name'] for c in by_id]
    assert sorted(source.cat_id_to_label.values()) == list(range(1, len(by_id) + 1))
    for image_id in source.ids:
        expected = sorted(source.cat_id_to_label[c] for c in cats[image_id])
        assert source.labels(image_id) == expected
        back = {source.label_to_cat_id[label] for label in source.labels(image_id)}
        assert back == cats[image_id]
    assert set(source.ids) == {s for s, c in cats.items() if c}
    assert set(source.unlabeled_ids) == {s for s, c in cats.items() if not c}


@pytest.mark.parametrize('dataset', ['icevision', 'tinycoco-train', 'tinycoco-val'])
def test_labels_equal_json_categories(real_data, dataset):
    image_dir, ann_file = icevision(real_data) if dataset == 'icevision' else \
        tinycoco(real_data, dataset.split('-')[1])
    source = COCOSource(image_dir, ann_file)
    assert source.num_classes == 80
    check_labels_match_json(source, ann_file)


def test_category_mapping_round_trips(real_data):
    source = COCOSource(*icevision(real_data))
    for cat_id, label in source.cat_id_to_label.items():
        assert source.label_to_cat_id[label] == cat_id
    # COCO's ids have gaps (12, 26, 29, ... are unused); labels do not
    assert source.cat_id_to_label[1] == 1 and source.class_names[0] == 'person'
    assert source.cat_id_to_label[90] == 80 and source.class_names[79] == 'toothbrush'
    assert source.label_to_cat_id[12] == 13  # stop sign follows street sign's gap


def test_image_without_annotations_is_set_aside(real_data, caplog):
    with caplog.at_level(logging.WARNING):
        source = COCOSource(*icevision(real_data))
    assert '000000000089' in source.unlabeled_ids
    assert '000000000089' not in source.ids
    assert len(source) == 5
    assert '1 image(s)' in caplog.text and '000000000089' in caplog.text


def test_keep_unlabeled(real_data):
    source = COCOSource(*icevision(real_data), keep_unlabeled=True)
    assert len(source) == 6
    assert '000000000089' in source.ids and source.labels('000000000089') == []
    assert source.unlabeled_ids == ['000000000089']


def test_tinycoco_train_unlabeled(real_data):
    source = COCOSource(*tinycoco(real_data, 'train'))
    assert len(source) == 30
    assert sorted(source.unlabeled_ids) == ['000000058636', '000000226111']


def test_images_read_at_json_size(real_data):
    image_dir, ann_file = icevision(real_data)
    source = SOURCES.build(dict(type='COCO', image_dir=str(image_dir), ann_file=str(ann_file)))
    assert isinstance(source, COCOSource)
    sizes = {img['file_name'].rsplit('.', 1)[0]: (img['height'], img['width'])
             for img in json.loads(ann_file.read_text())['images']}
    for image_id in source.ids:
        image = source.image(image_id)
        assert image.shape == (*sizes[image_id], 3) and image.dtype == np.uint8
        # rendered from the instances JSON (coco_prepare's rules): 0, present classes, 255
        gt = source.gt_mask(image_id)
        assert gt.shape == sizes[image_id] and gt.dtype == np.uint8
        assert set(np.unique(gt)) <= {0, 255, *source.labels(image_id)}
        assert set(source.labels(image_id)) - set(np.unique(gt)) <= {
            source.cat_id_to_label[a['category_id']]
            for a in source.coco.imgToAnns[source.coco_image_id(image_id)] if a['iscrowd']}


def test_crowd_annotation_counts_as_present(tmp_path):
    """A synthetic two-image JSON: an image whose only annotation is a crowd."""
    for name in ('a.jpg', 'b.jpg'):
        Image.new('RGB', (8, 6)).save(tmp_path / name)
    rle = {'counts': [0, 48], 'size': [6, 8]}
    ann_file = tmp_path / 'instances.json'
    ann_file.write_text(json.dumps({
        'images': [{'id': 1, 'file_name': 'a.jpg', 'height': 6, 'width': 8},
                   {'id': 2, 'file_name': 'b.jpg', 'height': 6, 'width': 8}],
        'annotations': [
            {'id': 1, 'image_id': 1, 'category_id': 1, 'iscrowd': 1, 'segmentation': rle,
             'area': 48, 'bbox': [0, 0, 8, 6]},
            {'id': 2, 'image_id': 2, 'category_id': 7, 'iscrowd': 0,
             'segmentation': [[0, 0, 4, 0, 4, 4]], 'area': 8, 'bbox': [0, 0, 4, 4]}],
        'categories': [{'id': 7, 'name': 'train'}, {'id': 1, 'name': 'person'}]}))
    source = COCOSource(tmp_path, ann_file)
    assert source.class_names == ['person', 'train']  # sorted by category id
    assert source.labels('a') == [1]
    assert source.labels('b') == [2]


def test_missing_ann_file(tmp_path):
    ann_file = tmp_path / 'instances_train2014.json'
    with pytest.raises(DatasetError, match=str(ann_file)):
        COCOSource(tmp_path, ann_file)


def test_missing_image_dir(real_data, tmp_path):
    _, ann_file = icevision(real_data)
    with pytest.raises(DatasetError, match=str(tmp_path / 'nope')):
        COCOSource(tmp_path / 'nope', ann_file)


def test_image_dir_of_other_split(real_data):
    image_dir, _ = tinycoco(real_data, 'val')
    _, train_ann = tinycoco(real_data, 'train')
    with pytest.raises(DatasetError) as err:
        COCOSource(image_dir, train_ann)
    assert str(train_ann) in str(err.value) and str(image_dir) in str(err.value)


def test_not_json(tmp_path):
    ann_file = tmp_path / 'instances.json'
    ann_file.write_text('{"images": [')
    with pytest.raises(DatasetError, match=str(ann_file)):
        COCOSource(tmp_path, ann_file)


def test_split_or_paths_not_both(real_data):
    image_dir, ann_file = icevision(real_data)
    with pytest.raises(DatasetError, match='not both'):
        COCOSource(image_dir, ann_file, data_root=image_dir.parent, split='samples')
    with pytest.raises(DatasetError, match='needs data_root'):
        COCOSource(split='train2014')


def test_paths_relative_to_data_root(real_data):
    root = real_data / 'icevision' / 'samples'
    source = COCOSource('images', 'annotations.json', data_root=root)
    assert source.image_dir == root / 'images' and len(source) == 5


def test_data_root_option_moves_the_prepared_folder():
    """--data-root DIR moves the COCO root and its prepared folder DIR_wsss together."""
    from mmengine.config import Config
    from stage1_cam.datasets.classification import with_data_root
    from conftest import REPO_ROOT
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / 'stage1' / 'bas_resnet50_coco.py'))
    source = cfg.train_dataloader.dataset.source
    assert (source.data_root, source.prepared_root) == ('data/coco', 'data/coco_wsss')
    moved = with_data_root(source, '/mnt/coco')
    assert (moved['data_root'], moved['prepared_root'], moved['split']) == \
        ('/mnt/coco', '/mnt/coco_wsss', 'train2014')
