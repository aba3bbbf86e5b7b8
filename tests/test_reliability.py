"""Fault injection: bad input never loses work, and never gives a silent wrong answer.

Each test drives a user-facing step (the tools, ``train``, ``run_from_config``)
with a broken input and checks the promise the user relies on: the message
names the file and says the fix; batch steps skip, count and exit non-zero
("N of M images failed"); nothing half-written is left; the dataset folder is
byte-for-byte untouched. Disk-full and read-only folders are real tmpfs mounts
in a private mount namespace (``unshare``); those tests skip where the machine
allows no such mount.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from stage1_cam.config_check import ConfigError
from stage1_cam.datasets import DatasetError
from stage1_cam.datasets.classification import build_source
from stage1_cam.datasets.demo import generate_demo_dataset
from wsss_core.io import read_label_png

REPO = Path(__file__).resolve().parents[1]
BAS_CONFIG = str(REPO / 'configs' / 'stage1' / 'bas_mobilenetv2_demo.py')
CAM_CONFIG = str(REPO / 'configs' / 'stage1' / 'cam_mobilenetv2_demo.py')
# Two scales instead of four: the promises do not depend on them, the runtime does.
FAST_MAPS = ['--cfg-options', 'pseudo_label.scales=[1.0,0.5]']
FAST_TRAIN = {'train_dataloader.batch_size': 4, 'train_dataloader.num_workers': 0,
              'train_dataloader.persistent_workers': False, 'train_cfg.max_epochs': 1,
              'param_scheduler.0.end': 1, 'default_hooks.logger.interval': 1}


# -- helpers ---------------------------------------------------------------

def tree_digest(root):
    """sha256 over every file's relative path and bytes: any write changes it."""
    digest = hashlib.sha256()
    for path in sorted(Path(root).rglob('*')):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def temp_files(root):
    return [str(p) for p in Path(root).rglob('*') if p.name.endswith('.tmp')]


def tool(name, *args, timeout=300, **kwargs):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    return subprocess.run([sys.executable, str(REPO / 'tools' / name), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env, **kwargs)


def image_path(root, image_id):
    return Path(root) / 'JPEGImages' / f'{image_id}.jpg'


def spoil_images(root):
    """Give train_00000..06 of a demo copy every awkward form an image can take;
    return {id: what}. 00000 and 00001 are unreadable, the others must work."""
    def rewrite(image_id, convert):
        path = image_path(root, image_id)
        with Image.open(path) as image:
            image = convert(image.convert('RGB'))
        return path, image

    path = image_path(root, 'train_00000')
    path.write_bytes(b'')
    path = image_path(root, 'train_00001')
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    path, image = rewrite('train_00002', lambda im: im.convert('L'))
    image.save(path)
    path, image = rewrite('train_00003', lambda im: im.convert('CMYK'))
    image.save(path)
    path, image = rewrite('train_00004', lambda im: im.convert('RGBA'))
    path.unlink()
    image.save(path.with_suffix('.png'))
    path, image = rewrite('train_00005', lambda im: im.resize((1, 1)))
    image.save(path)
    path, image = rewrite('train_00006', lambda im: im.resize((4000, 100)))
    image.save(path)
    return {'train_00000': 'zero bytes', 'train_00001': 'truncated JPEG',
            'train_00002': 'grayscale', 'train_00003': 'CMYK', 'train_00004': 'RGBA PNG',
            'train_00005': '1x1', 'train_00006': '4000x100'}


@pytest.fixture(scope='module')
def demo_template(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo_template') / 'demo'
    generate_demo_dataset(root, seed=5, num_train=8, num_val=2)
    return root


@pytest.fixture
def demo(demo_template, tmp_path):
    """A private copy of the 8-image demo set, free to break."""
    root = tmp_path / 'demo'
    shutil.copytree(demo_template, root)
    return root


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """An untrained BAS model (ImageNet backbone, seeded heads) in mmengine's format."""
    from mmengine.config import Config

    from stage1_cam.models import build_model
    torch.manual_seed(0)
    model = build_model(Config.fromfile(BAS_CONFIG).model)
    path = tmp_path_factory.mktemp('ckpt') / 'bas.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


# -- bad images in the batch steps: skipped, counted, exit status 1 ----------

def test_batch_steps_skip_and_count_bad_images_and_leave_the_dataset_alone(demo, checkpoint,
                                                                            tmp_path):
    """make_pseudo_labels and eval_labels over a split with every awkward image."""
    kinds = spoil_images(demo)
    before = tree_digest(demo)
    out = tmp_path / 'out'
    result = tool('make_pseudo_labels.py', BAS_CONFIG, checkpoint, '--out-dir', out,
                  '--data-root', demo, '--workers', '0', '--save-cams', *FAST_MAPS)
    assert result.returncode == 1, result.stderr[-3000:]
    assert 'error: 2 of 8 images failed' in result.stderr
    assert 'Traceback' not in result.stderr
    manifest = json.loads((out / 'manifest.json').read_text())
    assert sorted(manifest['failed']) == ['train_00000', 'train_00001']
    for image_id, reason in manifest['failed'].items():
        assert str(image_path(demo, image_id)) in reason, (kinds[image_id], reason)
        assert 'remove its id from the split list' in reason
    assert manifest['num_done'] == 6 and not manifest['complete']
    # grayscale, CMYK, RGBA, 1x1 and 4000x100 are labelled at their own size
    source = build_source(dict(type='Demo', data_root=str(demo)))
    for image_id in manifest['ids_done']:
        label = read_label_png(out / 'labels' / f'{image_id}.png')
        assert label.shape == source.image(image_id).shape[:2], kinds.get(image_id)
    assert read_label_png(out / 'labels' / 'train_00006.png').shape == (100, 4000)
    assert read_label_png(out / 'labels' / 'train_00005.png').shape == (1, 1)
    assert temp_files(out) == []

    # eval_labels (--allow-partial: 2 labels were never made): the 1x1 and
    # 4000x100 images no longer match their 128x128 GT masks; they are skipped,
    # named and counted, the rest is scored.
    result = tool('eval_labels.py', BAS_CONFIG, '--labels', out / 'labels', '--data-root', demo,
                  '--allow-partial')
    assert result.returncode == 1, result.stderr[-3000:]
    assert '2 missing (first: train_00000, train_00001)' in result.stdout
    assert 'error: 2 of 6 images failed' in result.stderr
    assert '2 of 6 images failed and are not in the scores above' in result.stdout
    gt_mask = demo / 'SegmentationClass' / 'train_00006.png'
    assert f'GT mask {gt_mask} is 128x128 but image' in result.stdout
    scored = json.loads((out / 'label_eval.json').read_text())
    assert scored['num_images'] == 4 and scored['num_failed'] == 2
    assert set(scored['failed']) == {'train_00005', 'train_00006'}

    # seeds: a maps file cut short by a crash elsewhere is skipped the same way
    from stage1_cam.evaluation import evaluate_seed_dir
    cams = out / 'cams' / 'train_00002.npz'
    cams.write_bytes(cams.read_bytes()[:100])
    seeds = evaluate_seed_dir(out / 'cams', source, progress=False)
    assert seeds['num_images'] == 3 and seeds['num_failed'] == 3
    assert f'cannot read maps file {cams}' in seeds['failed']['train_00002']

    assert tree_digest(demo) == before, 'a step wrote into the dataset folder'


# -- bad images in training: stop before (or at) the first step, naming the file

@pytest.mark.parametrize('damage', ['zero bytes', 'not an image', 'truncated'])
def test_training_stops_on_an_unreadable_image_naming_it(demo, tmp_path, damage):
    from stage1_cam.training import train
    victim = image_path(demo, 'train_00003')
    if damage == 'zero bytes':
        victim.write_bytes(b'')
    elif damage == 'not an image':
        victim.write_text('<html>404 Not Found</html>')
    else:  # the header is intact: found when the image is decoded in the first epoch
        victim.write_bytes(victim.read_bytes()[:victim.stat().st_size // 2])
    work_dir = tmp_path / 'work'
    with pytest.raises(DatasetError) as err:
        train(BAS_CONFIG, work_dir=str(work_dir), data_root=str(demo), cfg_options=FAST_TRAIN)
    message = str(err.value)
    assert str(victim) in message
    assert 'remove' in message and 'split list' in message
    if damage != 'truncated':  # found up front, with a count, before any step
        assert message.startswith('1 of 8 images cannot be read')
    assert not list(work_dir.glob('*.pth')), 'no checkpoint of a broken training set'


def test_training_reads_every_awkward_image_format(demo, tmp_path):
    from stage1_cam.training import train
    spoil_images(demo)
    for image_id in ('train_00000', 'train_00001'):  # the two unreadable ones: healthy again
        shutil.copy(image_path(demo, 'train_00007'), image_path(demo, image_id))
    runner = train(BAS_CONFIG, work_dir=str(tmp_path / 'work'), data_root=str(demo),
                   cfg_options=FAST_TRAIN)
    assert runner.iter == 2  # 8 images, batch 4
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()


# -- bad label and list files: a clear error naming the file -------------------

def _write_voc_with_xml(root, object_name):
    (root / 'JPEGImages').mkdir(parents=True)
    (root / 'Annotations').mkdir()
    (root / 'ImageSets' / 'Segmentation').mkdir(parents=True)
    Image.new('RGB', (40, 30), (10, 20, 30)).save(root / 'JPEGImages' / '2008_000001.jpg')
    (root / 'Annotations' / '2008_000001.xml').write_text(
        f'<annotation><object><name>{object_name}</name></object></annotation>')
    (root / 'ImageSets' / 'Segmentation' / 'train.txt').write_text('2008_000001\n')


def _break(demo, tmp_path, case):
    """Break one input file of the demo copy; return (source config, file, fix words)."""
    labels = demo / 'labels.json'
    split = demo / 'ImageSets' / 'Segmentation' / 'train.txt'
    source = dict(type='Demo', data_root=str(demo))
    if case == 'unknown class name':
        voc = tmp_path / 'voc'
        _write_voc_with_xml(voc, 'dragon')
        return dict(type='VOC', data_root=str(voc)), voc / 'Annotations' / '2008_000001.xml', \
            'Fix the XML'
    if case == 'class id out of range':
        data = json.loads(labels.read_text())
        data['labels']['train_00002'] = [3, 9]
        labels.write_text(json.dumps(data))
        return source, labels, 'outside 1..6'
    if case == 'id twice in labels JSON':
        text = labels.read_text()
        labels.write_text(text.replace('"labels": {', '"labels": {"train_00004": [1], ', 1))
        return source, labels, 'remove the duplicate entry'
    if case == 'list names a missing image':
        split.write_text(split.read_text() + 'train_00042\n')
        return source, split, 'Fix the list'
    if case == 'id twice in split list':
        split.write_text(split.read_text() + 'train_00003\n')
        return source, f'{split}:9', 'remove the repeated line'
    raise AssertionError(case)


@pytest.mark.parametrize('case', ['unknown class name', 'class id out of range',
                                  'id twice in labels JSON', 'list names a missing image',
                                  'id twice in split list'])
def test_bad_label_and_list_files_are_named_with_the_fix(demo, tmp_path, case):
    source_cfg, bad_file, fix = _break(demo, tmp_path, case)
    with pytest.raises(ValueError) as err:
        build_source(source_cfg)
    assert str(bad_file) in str(err.value)
    assert fix in str(err.value)


# -- the dataset's folders are never written into ----------------------------

def test_pseudo_label_writer_refuses_dataset_folders(demo, checkpoint):
    from stage1_cam.pseudo_labels import PseudoLabelError, run_from_config
    before = tree_digest(demo)
    gt_dir = demo / 'SegmentationClass'
    with pytest.raises(PseudoLabelError) as err:
        run_from_config(BAS_CONFIG, checkpoint, gt_dir, data_root=str(demo))
    assert str(err.value) == (f'--out-dir {gt_dir} is inside the dataset folder {gt_dir}, which '
                              'holds its images and ground truth and is never written into; '
                              'choose a path outside it.')
    for out in (demo, gt_dir / 'run1', demo / 'JPEGImages' / 'labels', demo / 'ImageSets' / 'x'):
        with pytest.raises(PseudoLabelError, match='never written into'):
            run_from_config(BAS_CONFIG, checkpoint, out, data_root=str(demo))
    assert tree_digest(demo) == before


def test_scoring_the_ground_truth_writes_nothing_into_the_dataset(demo):
    """eval_labels --labels <GT folder> would put label_eval.json in the dataset root."""
    from stage1_cam.label_report import report_labels
    source = build_source(dict(type='Demo', data_root=str(demo)))
    before = tree_digest(demo)
    with pytest.raises(DatasetError, match='--out-json .* is inside the dataset folder'):
        report_labels(demo / 'SegmentationClass', source)
    assert tree_digest(demo) == before


# -- configs are checked before any long work --------------------------------

@pytest.mark.parametrize('options,message', [
    ({'model.num_classes': 20, 'train_dataloader.dataset.num_classes': 20},
     'model.num_classes is 20 but the Demo source'),
    ({'model.num_classes': 5}, 'train_dataloader.dataset.num_classes is 6'),
    ({'model.type': 'BASNet'}, "model.type='BASNet' is not registered; known: "),
    ({'train_dataloader.dataset.source.type': 'Pascal'},
     "source.type='Pascal' is not registered; known: "),
    ({'pseudo_label.map_kind': 'gradcam'}, "map_kind='gradcam' is unknown"),
])
def test_training_config_is_validated_before_the_runner_starts(demo, tmp_path, options, message):
    from stage1_cam.training import train
    work_dir = tmp_path / 'work'
    with pytest.raises(ConfigError) as err:
        train(BAS_CONFIG, work_dir=str(work_dir), data_root=str(demo),
              cfg_options={**FAST_TRAIN, **options})
    assert message in str(err.value)
    if 'known: ' in message:  # the registered names are listed
        assert ('BASClassifier' if 'model' in message else 'VOC') in str(err.value)
    assert not work_dir.exists(), 'the Runner started before the config was checked'


def test_missing_data_root_names_the_path_and_the_flag(tmp_path):
    missing = tmp_path / 'nowhere'
    result = tool('train_cam.py', BAS_CONFIG, '--data-root', missing,
                  '--work-dir', tmp_path / 'work')
    assert result.returncode == 1
    assert f'error: train_dataloader.dataset.source.data_root {missing} does not exist' \
        in result.stderr
    assert '--data-root DIR' in result.stderr and 'Traceback' not in result.stderr
    assert not (tmp_path / 'work').exists()


def test_map_kind_the_model_cannot_make_is_refused_before_loading(demo, tmp_path):
    from stage1_cam.pseudo_labels import run_from_config
    with pytest.raises(ConfigError, match="map_kind='bas' needs a BAS generator, which "
                                          'CAMClassifier does not have'):
        run_from_config(CAM_CONFIG, tmp_path / 'not-even-there.pth', tmp_path / 'out',
                        data_root=str(demo), cfg_options={'pseudo_label.map_kind': 'bas'})
    assert not (tmp_path / 'out').exists()


# -- disk full and unwritable folders (real mounts) --------------------------

def _mount_namespace_works():
    if shutil.which('unshare') is None:
        return False
    probe = subprocess.run(['unshare', '-rm', 'sh', '-c',
                            'd=$(mktemp -d) && mount -t tmpfs -o size=16k none "$d"'],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


needs_mounts = pytest.mark.skipif(not _mount_namespace_works(),
                                  reason='no private mount namespace (unshare -rm) here')


def in_mount_namespace(script, timeout=300):
    """Run a bash script in a private user+mount namespace (it may mount tmpfs)."""
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(REPO)}
    return subprocess.run(['unshare', '-rm', 'bash', '-c', script], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=REPO)


WRITE_UNTIL_FULL = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    import numpy as np
    from wsss_core.io import WriteError, write_json, write_label_png, write_npz
    folder, kind = Path(sys.argv[1]), sys.argv[2]
    rng = np.random.default_rng(0)
    for index in range(1000):
        path = folder / f'{index:04d}.{kind}'
        try:
            side = 40 if kind == 'json' else 96  # a few 4 KiB pages per file
            noise = rng.integers(0, 255, (side, side), np.uint8)
            if kind == 'png':
                write_label_png(path, noise)
            elif kind == 'npz':
                write_npz(path, maps=noise)
            else:
                write_json(path, {'values': noise.tolist()})
        except WriteError as err:
            print(json.dumps({'written': index, 'errno': err.errno, 'message': str(err),
                              'failed_path': str(path)}))
            break
''')


@needs_mounts
def test_atomic_write_into_a_read_only_folder(tmp_path):
    folder = tmp_path / 'readonly'
    folder.mkdir()
    script = tmp_path / 'write.py'
    script.write_text(textwrap.dedent('''
        import sys
        import numpy as np
        from wsss_core.io import WriteError, write_label_png
        try:
            write_label_png(sys.argv[1], np.zeros((4, 4), np.uint8))
        except WriteError as err:
            print(err)
    '''))
    result = in_mount_namespace(f'set -e; mount -t tmpfs -o ro,size=64k none {folder}; '
                                f'python3 {script} {folder}/a.png; ls -A {folder} | wc -l')
    assert result.returncode == 0, result.stderr[-3000:]
    message, count = result.stdout.splitlines()
    assert message.startswith(f'cannot write {folder}/a.png: the file system is read-only')
    assert 'make the folder writable or choose another output folder' in message
    assert count == '0'


@needs_mounts
@pytest.mark.parametrize('kind', ['png', 'npz', 'json'])
def test_atomic_writes_on_a_full_disk(tmp_path, kind):
    full = tmp_path / 'full'
    full.mkdir()
    script = tmp_path / 'fill.py'
    script.write_text(WRITE_UNTIL_FULL)
    result = in_mount_namespace(
        f'set -e; mount -t tmpfs -o size=64k none {full}; '
        f'python3 {script} {full} {kind}; ls -a {full}; python3 -c "'
        f'from pathlib import Path; from wsss_core.io import read_json, read_label_png; '
        f'import numpy as np; '
        f"[read_label_png(p) if p.suffix == '.png' else np.load(p)['maps'] "
        f"if p.suffix == '.npz' else read_json(p) for p in Path('{full}').glob('0*')]; "
        f'print(\'ALL READABLE\')"')
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[0])
    assert report['written'] >= 1 and report['errno'] == 28
    assert report['message'].startswith(f'cannot write {report["failed_path"]}: the disk is full')
    assert 'free some space or choose another output folder' in report['message']
    listing = result.stdout.splitlines()[1:-1]
    assert not [name for name in listing if name.endswith('.tmp')], listing
    assert f'{report["written"] - 1:04d}.{kind}' in listing
    assert f'{report["written"]:04d}.{kind}' not in listing  # no partial file either
    assert result.stdout.splitlines()[-1] == 'ALL READABLE'


@needs_mounts
def test_pseudo_labels_on_a_full_disk_then_resumed(demo_template, checkpoint, tmp_path):
    """make_pseudo_labels on a full disk stops with a clear error, keeps what it
    finished, leaves no partial file, and the same command finishes the rest
    once space is freed."""
    disk, kept = tmp_path / 'disk', tmp_path / 'kept'
    disk.mkdir()
    command = ' '.join(map(str, [sys.executable, REPO / 'tools' / 'make_pseudo_labels.py',
                                 BAS_CONFIG, checkpoint, '--data-root', demo_template,
                                 '--workers', '1', '--out-dir', disk / 'out', *FAST_MAPS]))
    # 5 pages of 4 KiB: the manifest takes 1, each label 1: 4 labels of 8 fit.
    result = in_mount_namespace(f'''
        mount -t tmpfs -o size=20k none {disk}
        {command} > {tmp_path}/full.out 2> {tmp_path}/full.err; echo "full=$?"
        cp -a {disk}/out {tmp_path}/at_full
    ''')
    codes = dict(line.split('=') for line in result.stdout.split())
    full_err = (tmp_path / 'full.err').read_text()
    assert codes['full'] == '1', full_err[-3000:]
    assert 'Traceback' not in full_err
    assert f'error: cannot write {disk}/out/' in full_err
    assert 'the disk is full' in full_err and 're-run the same command' in full_err
    assert temp_files(tmp_path / 'at_full') == []
    labels_at_full = sorted((tmp_path / 'at_full' / 'labels').glob('*.png'))
    assert 1 <= len(labels_at_full) < 8, 'the disk did not fill up midway; adjust its size'

    # space freed (here: the folder moved to a roomy disk): the same step finishes
    from stage1_cam.pseudo_labels import run_from_config
    shutil.copytree(tmp_path / 'at_full', kept, symlinks=True)
    manifest = run_from_config(BAS_CONFIG, checkpoint, kept, data_root=str(demo_template),
                               workers=1, cfg_options={'pseudo_label.scales': [1.0, 0.5]})
    assert manifest['complete'] and manifest['num_done'] == 8
    assert len(list((kept / 'labels').glob('*.png'))) == 8
    for path in labels_at_full:  # what was finished before the disk filled was complete
        assert path.read_bytes() == (kept / 'labels' / path.name).read_bytes()
        assert read_label_png(path).shape == (128, 128)
    assert temp_files(kept) == []


def test_outputs_get_the_usual_file_mode(tmp_path):
    """Atomic writes go through a private temporary file; the result must still be
    readable by whoever could read a file written with open() (stage 2 may run
    as another user)."""
    from wsss_core.io import write_json
    plain = tmp_path / 'plain.json'
    plain.write_text('{}')
    write_json(tmp_path / 'atomic.json', {})
    assert (tmp_path / 'atomic.json').stat().st_mode == plain.stat().st_mode


def test_unwritable_folder_as_non_root(demo_template, checkpoint, tmp_path):
    """Without root, a chmod 0o500 folder: the error names the file, nothing is
    left, and make_pseudo_labels says so before loading the model."""
    if os.getuid() == 0:
        pytest.skip('root ignores file permissions (the read-only mount test covers this)')
    from wsss_core.io import WriteError, write_label_png
    from stage1_cam.pseudo_labels import PseudoLabelError, run_from_config
    folder = tmp_path / 'locked'
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(WriteError) as err:
            write_label_png(folder / 'a.png', np.zeros((4, 4), np.uint8))
        assert str(err.value).startswith(f'cannot write {folder / "a.png"}: permission denied')
        with pytest.raises(PseudoLabelError, match='choose a writable --out-dir'):
            run_from_config(BAS_CONFIG, checkpoint, folder / 'out', data_root=str(demo_template))
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)
