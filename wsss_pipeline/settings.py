"""The pipeline config: which dataset, which stage-1 configs, which stage-2 config.

A pipeline config is an mmengine Python config (``configs/pipeline/*.py``)::

    dataset = dict(kind='demo', data_root='data/demo', prepare=dict(num_train=400))
    methods = dict(cam='configs/stage1/cam_...py', bas='configs/stage1/bas_...py')
    default_methods = ['cam', 'bas']
    stage1_cfg_options = {}          # merged into every stage-1 config
    label_split = 'train'            # split that gets pseudo-labels (stage-2 training set)
    eval_split = None                # split they are scored on (default: label_split)
    seed_thresholds = (0.0, 0.95, 0.01)
    confident_thresholds = 'auto'    # or 'config': the stage-1 configs' fg/bg thresholds
    stage2_config = 'configs/stage2/...py'
    stage2_cfg_options = {}
    test_protocols = [dict(name='single-scale'), dict(name='MS+flip+CRF', ms=True, ...)]
    figures = dict(num_images=6)
    score_labels = True              # False: no ground truth, eval_labels is skipped
    score_segmentation = True        # False: no ground truth, test_seg is skipped

``dataset.kind='folder'`` (a user's own folder) is written by ``own_data.py``
(``tools/run_own_data.py``) with the stage configs it derives.

The pipeline config itself is checked here; the stage configs it names are
built and checked by ``validate.py``, also before any step runs, so a typo
fails in a second rather than after an hour of training.
"""
from pathlib import Path

from stage1_cam.config import load_stage1_config
from stage1_cam.config_check import method_class
from wsss_core.config import load_config
from wsss_core.errors import UserError

REPO = Path(__file__).resolve().parents[1]
DATASET_KINDS = ('demo', 'voc', 'coco', 'coco_demo', 'folder')


class PipelineConfigError(UserError, ValueError):
    """A pipeline config or command line that cannot run; says what to change."""


def _repo_path(path):
    """Config paths are relative to the repository (as in the shipped configs)."""
    path = Path(path)
    return path if path.is_absolute() else REPO / path


def _move_data_root(cfg, data_root):
    """``--data-root``: the dataset's folder (before ``--cfg-options``, as
    ``wsss_core.config`` orders them; a config without a dataset is refused
    just after)."""
    if cfg.get('dataset') is not None:
        cfg.dataset.data_root = str(data_root)


def load_settings(config, methods=None, data_root=None, cfg_options=None):
    """The validated pipeline config with the command line applied."""
    config = Path(config)
    if not config.is_file():
        raise PipelineConfigError(f'pipeline config not found: {config}; see configs/pipeline/.')
    cfg = load_config(config, data_root=data_root, move_data_root=_move_data_root,
                      cfg_options=cfg_options)
    for key in ('dataset', 'methods', 'stage2_config'):
        if key not in cfg:
            raise PipelineConfigError(f'{config} has no `{key}`; see configs/pipeline/demo.py.')
    kind = cfg.dataset.get('kind')
    if kind not in DATASET_KINDS:
        raise PipelineConfigError(f'{config}: dataset.kind={kind!r} is not one of '
                                  f'{list(DATASET_KINDS)}.')
    if not cfg.dataset.get('data_root'):
        raise PipelineConfigError(f'{config}: dataset.data_root is missing; set it or pass '
                                  '--data-root.')
    chosen = list(methods or cfg.get('default_methods') or cfg.methods.keys())
    unknown = [m for m in chosen if m not in cfg.methods]
    if unknown:
        raise PipelineConfigError(f'unknown method(s) {unknown}: {config} defines '
                                  f'{sorted(cfg.methods)} (see its `methods`).')
    if len(set(chosen)) != len(chosen):
        raise PipelineConfigError(f'--methods lists a method twice: {chosen}')
    for name in chosen:
        if not _repo_path(cfg.methods[name]).is_file():
            raise PipelineConfigError(f'{config}: stage-1 config of {name!r} not found: '
                                      f'{cfg.methods[name]}')
    if not _repo_path(cfg.stage2_config).is_file():
        raise PipelineConfigError(f'{config}: stage2_config not found: {cfg.stage2_config}')
    protocols = cfg.get('test_protocols') or [dict(name='single-scale')]
    names = [p.get('name') for p in protocols]
    if None in names or len(set(names)) != len(names):
        raise PipelineConfigError(f'{config}: every test protocol needs a distinct name, '
                                  f'got {names}')
    if cfg.get('confident_thresholds', 'auto') not in ('auto', 'config'):
        raise PipelineConfigError(f"{config}: confident_thresholds must be 'auto' or 'config', "
                                  f"got {cfg.confident_thresholds!r}")
    cfg.test_protocols = protocols
    cfg.chosen_methods = chosen
    cfg.config_path = str(config)
    cfg.method_titles = {name: method_title(cfg, name) for name in chosen}
    return cfg


def method_title(settings, method):
    """The title ``method``'s model class declares (``title``), for tables and
    figures; the method's name while its config cannot be loaded (the pipeline's
    validation then reports why, with every other problem)."""
    try:
        cfg = load_stage1_config(stage1_config(settings, method),
                                 cfg_options=stage1_options(settings, method))
        return method_class(cfg).title
    except Exception:  # noqa: BLE001  (reported by validate.py before any step runs)
        return method


def stage1_config(settings, method):
    return str(_repo_path(settings.methods[method]))


def stage2_config(settings):
    return str(_repo_path(settings.stage2_config))


def stage1_options(settings, method):
    """``stage1_cfg_options`` plus the method's own ``stage1_cfg_options_<method>``.

    ``confident_thresholds='auto'`` (the default) reads each method's
    confident-region thresholds off the seed sweep of its own maps on the eval
    split (fg at the optimum, bg at the floor of the near-optimal band;
    ``stage1_cam/thresholds.py``); ``'config'`` keeps the stage-1 configs' numbers.
    """
    options = {}
    if settings.get('confident_thresholds', 'auto') == 'auto':
        options.update({'pseudo_label.refine.fg_threshold': 'auto',
                        'pseudo_label.refine.bg_threshold': 'auto'})
    options.update(dotted_options(settings.get('stage1_cfg_options') or {}))
    options.update(dotted_options(settings.get(f'stage1_cfg_options_{method}') or {}))
    return options or None


def dotted_options(options, prefix=''):
    """``{'a': {'b': 1}}`` -> ``{'a.b': 1}``. ``--cfg-options a.b=1`` nests what a
    config file writes dotted; merged with ``dict.update`` as nested dicts, a
    method's options would drop the common ones under the same key."""
    flat = {}
    for key, value in options.items():
        if isinstance(value, dict) and value and '_delete_' not in value:
            flat.update(dotted_options(value, f'{prefix}{key}.'))
        else:
            flat[f'{prefix}{key}'] = value
    return flat


def stage2_options(settings):
    return dict(settings.get('stage2_cfg_options') or {}) or None
