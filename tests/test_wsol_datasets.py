"""WSOL image sources: CUB-200-2011 files, ImageNet box lists, the demo boxes set."""
import numpy as np
import pytest
from PIL import Image

from stage1_cam.datasets import DatasetError
from stage1_cam.registry import SOURCES
from stage1_cam.wsol.cub import CUBSource
from stage1_cam.wsol.demo_boxes import generate_demo_boxes, render_single_object
from stage1_cam.wsol.imagenet import ImageNetSource


def write_image(path, size=(30, 40)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size + (3,), 90, np.uint8)).save(path)


def make_cub(root, boxes=None):
    """A 3-image, 2-class CUB folder in the official format."""
    names = {'1': '001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg',
             '2': '001.Black_footed_Albatross/Black_Footed_Albatross_0009_34.jpg',
             '3': '002.Laysan_Albatross/Laysan_Albatross_0002_1027.jpg'}
    for relative in names.values():
        write_image(root / 'images' / relative)
    (root / 'images.txt').write_text(''.join(f'{i} {n}\n' for i, n in names.items()))
    (root / 'classes.txt').write_text('1 001.Black_footed_Albatross\n2 002.Laysan_Albatross\n')
    (root / 'image_class_labels.txt').write_text('1 1\n2 1\n3 2\n')
    (root / 'train_test_split.txt').write_text('1 0\n2 1\n3 0\n')
    (root / 'bounding_boxes.txt').write_text(
        boxes or '1 60.0 27.0 325.0 304.0\n2 139.0 30.0 153.0 264.0\n3 14.0 112.0 388.0 186.0\n')
    return root


def test_cub_files_give_split_labels_and_xyxy_boxes(tmp_path):
    root = make_cub(tmp_path / 'CUB_200_2011')
    test = SOURCES.build(dict(type='CUB', data_root=str(root), split='test'))
    assert isinstance(test, CUBSource)
    assert test.ids == ['1', '3']
    assert test.class_names == ['001.Black_footed_Albatross', '002.Laysan_Albatross']
    assert test.labels('3') == [2]
    # x, y, width, height -> x1, y1, x1 + width, y1 + height
    np.testing.assert_array_equal(test.boxes('1'), [[60, 27, 385, 331]])
    assert test.image('3').shape == (30, 40, 3)
    train = CUBSource(root, split='train')
    assert train.ids == ['2'] and train.labels('2') == [1]


@pytest.mark.parametrize('file_name, content, message', [
    ('bounding_boxes.txt', '1 60.0 27.0 325.0\n', r'bounding_boxes.txt:1: expected 5 columns'),
    ('bounding_boxes.txt', '1 a b c d\n', r'bounding_boxes.txt:1: cannot parse'),
    ('image_class_labels.txt', '1 1\n2 1\n3 7\n', r'image_class_labels.txt: image id 3 has class 7'),
    ('train_test_split.txt', '1 0\n2 1\n', r'image id 3 of images.txt has no line in .*'
                                          r'train_test_split.txt'),
    ('train_test_split.txt', '1 0\n2 1\n3 2\n', r'train_test_split.txt: image id 3 has split flag'),
])
def test_bad_cub_files_are_named_in_the_error(tmp_path, file_name, content, message):
    root = make_cub(tmp_path / 'CUB_200_2011')
    (root / file_name).write_text(content)
    with pytest.raises(DatasetError, match=message):
        CUBSource(root, split='test')


def test_missing_cub_file_or_box_is_named(tmp_path):
    root = make_cub(tmp_path / 'CUB_200_2011', boxes='1 60.0 27.0 325.0 304.0\n')
    with pytest.raises(DatasetError, match=r'image id 3 has no line in .*bounding_boxes.txt'):
        CUBSource(root, split='test')
    (root / 'classes.txt').unlink()
    with pytest.raises(DatasetError, match=r'classes.txt not found'):
        CUBSource(root, split='test')
    with pytest.raises(DatasetError, match='unknown CUB split'):
        CUBSource(root, split='val')


def make_imagenet(root, val_layout='flat'):
    wnids = ['n01440764', 'n01443537']
    root.mkdir(parents=True)
    (root / 'LOC_synset_mapping.txt').write_text(
        'n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n')
    for wnid in wnids:
        for k in range(2):
            write_image(root / 'train' / wnid / f'{wnid}_{k}.JPEG')
    val = {'ILSVRC2012_val_00000001': 'n01443537', 'ILSVRC2012_val_00000002': 'n01440764'}
    for name, wnid in val.items():
        folder = root / 'val' if val_layout == 'flat' else root / 'val' / wnid
        write_image(folder / f'{name}.JPEG')
    return root


def test_imagenet_project_csv_with_several_boxes(tmp_path):
    root = make_imagenet(tmp_path / 'imagenet', val_layout='class_folders')
    (root / 'val_boxes.csv').write_text(
        'image,wnid,x1,y1,x2,y2\n'
        'ILSVRC2012_val_00000001,n01443537,1,2,20,25\n'
        'ILSVRC2012_val_00000001,n01443537,5,5,9,9\n'
        'ILSVRC2012_val_00000002.JPEG,n01440764,0,0,39,29\n')
    val = SOURCES.build(dict(type='ImageNet', data_root=str(root), split='val'))
    assert val.ids == ['ILSVRC2012_val_00000001', 'ILSVRC2012_val_00000002']
    assert val.class_names == ['tench', 'goldfish']
    assert val.labels('ILSVRC2012_val_00000001') == [2]
    np.testing.assert_array_equal(val.boxes('ILSVRC2012_val_00000001'),
                                  [[1, 2, 20, 25], [5, 5, 9, 9]])
    assert val.image('ILSVRC2012_val_00000002').shape == (30, 40, 3)

    train = ImageNetSource(root, split='train')
    assert len(train.ids) == 4 and train.labels('n01443537_1') == [2]
    with pytest.raises(DatasetError, match='no box'):
        train.boxes('n01443537_1')


def test_imagenet_kaggle_loc_solution_format(tmp_path):
    root = make_imagenet(tmp_path / 'imagenet')
    (root / 'LOC_val_solution.csv').write_text(
        'ImageId,PredictionString\n'
        'ILSVRC2012_val_00000001,n01443537 10 11 30 25 n01443537 1 1 4 4 \n'
        'ILSVRC2012_val_00000002,n01440764 0 0 39 29 \n')
    val = ImageNetSource(root, split='val')
    np.testing.assert_array_equal(val.boxes('ILSVRC2012_val_00000001'),
                                  [[10, 11, 30, 25], [1, 1, 4, 4]])
    assert val.labels('ILSVRC2012_val_00000002') == [1]


@pytest.mark.parametrize('content, message', [
    ('image,wnid,x1,y1,x2,y2\nILSVRC2012_val_00000001,n01443537,1,2,20,25\n'
     'ILSVRC2012_val_00000001,n01440764,1,2,20,25\n', r'val_boxes.csv:3: .* single-label'),
    ('image,wnid,x1,y1,x2,y2\nILSVRC2012_val_00000001,n09999999,1,2,20,25\n',
     r'wnid n09999999 is not one of the 2 classes'),
    ('image,wnid,x1,y1,x2,y2\nILSVRC2012_val_00000001,n01443537,30,2,20,25\n', 'x2 < x1'),
    ('name;box\n', 'unknown box-list header'),
    ('image,wnid,x1,y1,x2,y2\nILSVRC2012_val_00000009,n01443537,1,2,20,25\n',
     r'image ILSVRC2012_val_00000009 of .*val_boxes.csv not found'),
])
def test_bad_imagenet_box_lists_are_named(tmp_path, content, message):
    root = make_imagenet(tmp_path / 'imagenet')
    (root / 'val_boxes.csv').write_text(content)
    with pytest.raises(DatasetError, match=message):
        ImageNetSource(root, split='val')


def test_imagenet_val_needs_a_box_list(tmp_path):
    root = make_imagenet(tmp_path / 'imagenet')
    with pytest.raises(DatasetError, match='no box list for split val'):
        ImageNetSource(root, split='val')


def test_demo_boxes_folder_reads_as_cub(tmp_path):
    root = tmp_path / 'demo_boxes'
    generate_demo_boxes(root, seed=5, num_train=6, num_test=6)
    train, test = CUBSource(root, 'train'), CUBSource(root, 'test')
    assert len(train) == 6 and len(test) == 6
    assert sorted(c for i in test.ids for c in test.labels(i)) == [1, 2, 3, 4, 5, 6]
    # the box is the bounding box of the object the generator drew (inclusive ends)
    rgb, mask = render_single_object(np.random.default_rng([5, 11, 2]), 3)
    rows, cols = np.nonzero(mask)
    third = test.ids[2]
    assert test.labels(third) == [3]
    np.testing.assert_array_equal(test.boxes(third),
                                  [[cols.min(), rows.min(), cols.max(), rows.max()]])
    # JPEG round trip of the same pixels
    assert np.abs(test.image(third).astype(int) - rgb).mean() < 6
    # a real (non-generated) folder is never written into
    make_cub(tmp_path / 'CUB')
    with pytest.raises(DatasetError, match='not a demo-boxes folder'):
        generate_demo_boxes(tmp_path / 'CUB', num_train=1, num_test=1)
