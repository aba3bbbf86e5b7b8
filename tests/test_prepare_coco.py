"""tools/prepare_coco.py's library on real COCO instance annotations
(tinycoco, icevision samples, panopticapi's detection-format JSON).

Expected masks are built here from pycocotools' ``COCO.annToMask`` and the
documented rule stated the other way round (each pixel takes the class of the
smallest covering instance, ties to the higher annotation id), not by
re-running the painter; expected labels come from the raw JSON.
"""
import contextlib
import io
import json
import os

import numpy as np
import pytest
from pycocotools.coco import COCO

from stage1_cam.datasets import COCOSource, DatasetError
from stage1_cam.datasets.coco_prepare import MANIFEST_FILE, prepare_coco
from wsss_core.io import read_json, read_label_png, write_label_png


def _link(target, link):
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


def coco_root(real_data, tmp_path, name):
    """A COCO-layout root of symlinks to the real files: (root, split)."""
    root = tmp_path / name
    if name.startswith('tinycoco'):
        split = name.split('-')[1] + '2017'
        base = real_data / 'super-gradients' / 'tests' / 'data' / 'tinycoco'
        _link(base / 'annotations' / f'instances_{split}.json',
              root / 'annotations' / f'instances_{split}.json')
        _link(base / 'images' / split, root / split)
    elif name == 'icevision':
        split = 'samples'
        _link(real_data / 'icevision' / 'samples' / 'annotations.json',
              root / 'annotations' / 'instances_samples.json')
        _link(real_data / 'icevision' / 'samples' / 'images', root / split)
    else:  # panopticapi: RLE segments, 133 categories
        split = 'examples'
        sample = real_data / 'panopticapi' / 'sample_data'
        _link(sample / 'panoptic_coco_detection_format.json',
              root / 'annotations' / 'instances_examples.json')
        _link(sample / 'input_images', root / split)
    return root, split


def load(root, split):
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(root / 'annotations' / f'instances_{split}.json'))


def expected_mask(coco, image, cat_to_label, crowd):
    """Smallest covering non-crowd instance wins (ties: higher id); crowd pixels
    no instance covers are 255 (crowd='ignore') or 0."""
    h, w = image['height'], image['width']
    anns = coco.imgToAnns.get(image['id'], [])
    plain = [a for a in anns if not a['iscrowd']]
    best = np.full((h, w), np.inf)
    label = np.zeros((h, w), np.uint8)
    for ann in plain:
        mask = coco.annToMask(ann).astype(bool)
        # rank: area first, then id (higher id wins a tie)
        rank = mask.sum() - ann['id'] / (1 + max(a['id'] for a in plain))
        take = mask & (rank < best)
        label[take] = cat_to_label[ann['category_id']]
        best[take] = rank
    if crowd == 'ignore':
        for ann in (a for a in anns if a['iscrowd']):
            label[coco.annToMask(ann).astype(bool) & np.isinf(best)] = 255
    return label


@pytest.mark.parametrize('name', ['tinycoco-train', 'tinycoco-val', 'icevision', 'panopticapi'])
def test_masks_follow_annToMask(real_data, tmp_path, name):
    root, split = coco_root(real_data, tmp_path, name)
    out = tmp_path / 'out'
    manifest = prepare_coco(root, out, splits=[split], gt_splits=[split], workers=0,
                            progress=False)
    assert manifest['complete'] and manifest['splits'][split]['gt']['crowd'] == 'ignore'
    coco = load(root, split)
    cats = sorted(coco.dataset['categories'], key=lambda c: c['id'])
    cat_to_label = {c['id']: i for i, c in enumerate(cats, 1)}
    checked = overlapping = 0
    for image in coco.dataset['images']:
        anns = coco.imgToAnns.get(image['id'], [])
        if not anns:
            continue
        stem = image['file_name'].rsplit('.', 1)[0]
        rendered = read_label_png(out / 'SegmentationClass' / split / f'{stem}.png')
        assert rendered.shape == (image['height'], image['width'])
        np.testing.assert_array_equal(rendered, expected_mask(coco, image, cat_to_label,
                                                              'ignore'))
        # per class: the rendered pixels of class c are the union of its
        # instances' annToMask, less the pixels another class's smaller instance takes
        plain = [a for a in anns if not a['iscrowd']]
        for cat_id in {a['category_id'] for a in plain}:
            union = np.any([coco.annToMask(a).astype(bool) for a in plain
                            if a['category_id'] == cat_id], axis=0)
            others = np.any([coco.annToMask(a).astype(bool) for a in plain
                             if a['category_id'] != cat_id] or [np.zeros_like(union)], axis=0)
            mine = rendered == cat_to_label[cat_id]
            assert not (mine & ~union).any()
            np.testing.assert_array_equal(mine[~others], union[~others])
            overlapping += int((union & others).any())
        checked += 1
    assert checked == len({a['image_id'] for a in coco.dataset['annotations']})
    if name == 'tinycoco-train':
        assert overlapping > 0   # the overlap rule was exercised


def test_ids_map_both_ways(real_data, tmp_path):
    root, split = coco_root(real_data, tmp_path, 'tinycoco-train')
    out = tmp_path / 'out'
    prepare_coco(root, out, splits=[split], gt_splits=[], workers=0, progress=False)
    raw = json.loads((root / 'annotations' / f'instances_{split}.json').read_text())
    categories = read_json(out / 'categories.json')['categories']
    by_id = sorted(raw['categories'], key=lambda c: c['id'])
    assert [c['category_id'] for c in categories] == [c['id'] for c in by_id]
    assert [c['label'] for c in categories] == list(range(1, 81))
    assert [c['name'] for c in categories] == [c['name'] for c in by_id]
    label_of = {c['category_id']: c['label'] for c in categories}
    cat_of = {c['label']: c['category_id'] for c in categories}
    assert (label_of[1], label_of[13], label_of[90]) == (1, 12, 80)   # gaps closed
    assert all(label_of[cat_of[label]] == label for label in cat_of)
    labels = read_json(out / f'labels_{split}.json')
    assert labels['class_names'] == [c['name'] for c in by_id]
    present = {}
    stem = {img['id']: img['file_name'].rsplit('.', 1)[0] for img in raw['images']}
    for ann in raw['annotations']:
        present.setdefault(stem[ann['image_id']], set()).add(ann['category_id'])
    assert set(labels['labels']) == set(present)
    for image_id, classes in labels['labels'].items():
        assert {cat_of[c] for c in classes} == present[image_id]
    # the prepared folder and the instances JSON give the same source
    from_json = COCOSource(root / split, root / 'annotations' / f'instances_{split}.json')
    prepared = COCOSource(data_root=root, split=split, prepared_root=out)
    assert prepared.ids == from_json.ids and prepared.class_names == from_json.class_names
    assert all(prepared.labels(i) == from_json.labels(i) for i in prepared.ids)
    assert prepared.cat_id_to_label == from_json.cat_id_to_label


def _crowd_pixels(coco, image):
    anns = coco.imgToAnns[image['id']]
    crowd = np.any([coco.annToMask(a).astype(bool) for a in anns if a['iscrowd']], axis=0)
    plain = np.any([coco.annToMask(a).astype(bool) for a in anns if not a['iscrowd']]
                   or [np.zeros_like(crowd)], axis=0)
    return crowd & ~plain


def test_crowd_ignore_by_default_and_background_as_option(real_data, tmp_path):
    root, split = coco_root(real_data, tmp_path, 'tinycoco-train')
    out = tmp_path / 'out'
    prepare_coco(root, out, splits=[split], gt_splits=[split], workers=0, progress=False)
    coco = load(root, split)
    crowd_images = [img for img in coco.dataset['images']
                    if any(a['iscrowd'] for a in coco.imgToAnns.get(img['id'], []))]
    assert crowd_images
    masks = {}
    for image in crowd_images:
        stem = image['file_name'].rsplit('.', 1)[0]
        masks[stem] = _crowd_pixels(coco, image)
        rendered = read_label_png(out / 'SegmentationClass' / split / f'{stem}.png')
        assert masks[stem].any()
        assert (rendered[masks[stem]] == 255).all() and (rendered[~masks[stem]] != 255).all()
    # another crowd mode over the same folder needs --overwrite
    with pytest.raises(DatasetError, match='--crowd ignore'):
        prepare_coco(root, out, splits=[split], gt_splits=[split], crowd='background',
                     workers=0, progress=False)
    manifest = prepare_coco(root, out, splits=[split], gt_splits=[split], crowd='background',
                            workers=0, overwrite=True, progress=False)
    assert manifest['splits'][split]['gt']['crowd'] == 'background'
    for stem, crowd in masks.items():
        rendered = read_label_png(out / 'SegmentationClass' / split / f'{stem}.png')
        assert (rendered[crowd] == 0).all() and not (rendered == 255).any()


def test_image_without_annotations_listed_apart(real_data, tmp_path):
    root, split = coco_root(real_data, tmp_path, 'icevision')
    out = tmp_path / 'out'
    manifest = prepare_coco(root, out, splits=[split], gt_splits=[split], workers=0,
                            progress=False)
    info = manifest['splits'][split]
    assert (info['images'], info['annotated'], info['unannotated']) == (6, 5, 1)
    assert (out / f'{split}_unannotated.txt').read_text().split() == ['000000000089']
    assert '000000000089' not in (out / f'{split}.txt').read_text().split()
    assert '000000000089' not in read_json(out / f'labels_{split}.json')['labels']
    assert not (out / 'SegmentationClass' / split / '000000000089.png').exists()
    assert len(list((out / 'SegmentationClass' / split).glob('*.png'))) == 5
    source = COCOSource(data_root=root, split=split, prepared_root=out, keep_unlabeled=True)
    assert source.unlabeled_ids == ['000000000089'] and source.labels('000000000089') == []
    assert COCOSource(data_root=root, split=split, prepared_root=out).ids == \
        (out / f'{split}.txt').read_text().split()


def test_resume_skips_finished_pngs_and_pool_matches(real_data, tmp_path):
    root, split = coco_root(real_data, tmp_path, 'tinycoco-val')
    out = tmp_path / 'out'
    prepare_coco(root, out, splits=[split], gt_splits=[split], workers=0, progress=False)
    gt_dir = out / 'SegmentationClass' / split
    pngs = sorted(gt_dir.glob('*.png'))
    reference = {p.name: read_label_png(p) for p in pngs}
    marker = np.full_like(reference[pngs[0].name], 7)
    write_label_png(pngs[0], marker)     # "finished" earlier: must be kept
    pngs[1].unlink()                     # not finished: must be rendered
    (gt_dir / f'.{pngs[1].name}.x1y2z3.tmp').write_bytes(b'half a PNG')   # left by a kill
    manifest = prepare_coco(root, out, splits=[split], gt_splits=[split], workers=2,
                            progress=False)
    gt = manifest['splits'][split]['gt']
    assert (gt['written'], gt['skipped_existing']) == (1, len(pngs) - 1)
    assert (read_label_png(pngs[0]) == 7).all()
    np.testing.assert_array_equal(read_label_png(pngs[1]), reference[pngs[1].name])
    manifest = prepare_coco(root, out, splits=[split], gt_splits=[split], workers=2,
                            overwrite=True, progress=False)   # pool output = in-process output
    assert manifest['splits'][split]['gt']['written'] == len(pngs)
    for path in pngs:
        np.testing.assert_array_equal(read_label_png(path), reference[path.name])
    assert not list(gt_dir.glob('.*'))   # no temporary files left
    assert read_json(out / MANIFEST_FILE)['complete']


def test_refuses_to_write_inside_coco_root(real_data, tmp_path):
    root, split = coco_root(real_data, tmp_path, 'icevision')
    for out in (root / 'wsss', root):
        with pytest.raises(DatasetError, match='inside the COCO root') as err:
            prepare_coco(root, out, splits=[split], gt_splits=[], progress=False)
        assert str(root) in str(err.value)
    assert sorted(p.name for p in root.iterdir()) == ['annotations', split]


def test_bad_arguments_name_the_fix(real_data, tmp_path):
    root, split = coco_root(real_data, tmp_path, 'icevision')
    with pytest.raises(DatasetError, match='instances_train2014.json'):
        prepare_coco(root, tmp_path / 'out', splits=['train2014'], gt_splits=[])
    with pytest.raises(DatasetError, match='--gt-splits val2014'):
        prepare_coco(root, tmp_path / 'out', splits=[split], gt_splits=['val2014'])
    # a source pointed at a folder that prepare_coco has not written says how to write it
    with pytest.raises(DatasetError, match='tools/prepare_coco.py --coco-root'):
        COCOSource(data_root=root, split=split, prepared_root=tmp_path / 'nothing')


def test_overlap_rule_on_a_hand_made_file(tmp_path):
    """Smaller instance on top whatever the file order; equal areas: higher id on top."""
    def square(x, y, side):
        return [[x, y, x + side, y, x + side, y + side, x, y + side]]
    anns = [  # (id, category, polygon): 30 small inside 20 big; 11 and 12 the same size
        (30, 2, square(4, 4, 4)), (20, 1, square(0, 0, 16)),
        (12, 3, square(20, 0, 8)), (11, 4, square(24, 0, 8))]
    root = tmp_path / 'coco'
    (root / 'img').mkdir(parents=True)
    (root / 'annotations').mkdir()
    (root / 'annotations' / 'instances_img.json').write_text(json.dumps({
        'images': [{'id': 1, 'file_name': 'a.jpg', 'height': 20, 'width': 40}],
        'annotations': [{'id': i, 'image_id': 1, 'category_id': c, 'segmentation': s,
                         'iscrowd': 0, 'area': 0, 'bbox': [0, 0, 1, 1]} for i, c, s in anns],
        'categories': [{'id': k, 'name': f'c{k}'} for k in (1, 2, 3, 4)]}))
    prepare_coco(root, tmp_path / 'out', splits=['img'], gt_splits=['img'], workers=0,
                 progress=False)
    label = read_label_png(tmp_path / 'out' / 'SegmentationClass' / 'img' / 'a.png')
    assert label[6, 6] == 2 and label[1, 1] == 1       # small square over the big one
    assert label[4, 26] == 3                           # overlap of 12 and 11: id 12 on top
    assert label[4, 22] == 3 and label[4, 30] == 4
