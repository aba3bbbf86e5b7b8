"""Pictures for ``W/figures/``: what a reader looks at before the table.

* ``threshold_curves.png``: seed mIoU against the background threshold, one
  curve per method, the best point marked;
* ``samples_<method>.png``: for a fixed sample of the scored split, a row per
  image: image | activation map | pseudo-label | ground truth | stage-2
  prediction (columns whose step has not run are left out).
"""
import json

import numpy as np
from mmseg.apis import inference_model, init_model

from stage1_cam.label_report import build_eval_source
from stage2_seg.config_utils import load
from wsss_core.checkpoint import allow_mmengine_checkpoints
from wsss_core.classes import voc_palette
from wsss_core.io import atomic_path, read_label_png

from .settings import stage1_config, stage1_options, stage2_config, stage2_options


def _pyplot():
    # Imported here: matplotlib is slow to import and only the figures need it
    # (with the Agg backend, chosen before pyplot loads).
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    plt = _pyplot()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png', dpi=100, bbox_inches='tight')
    plt.close(fig)


def colorize(label):
    """Palette indices -> RGB with the VOC colours (255 = uncertain, cream)."""
    palette = np.asarray(voc_palette(), dtype=np.uint8).reshape(256, 3)
    return palette[label]


def heat_overlay(image, maps):
    """The strongest class map per pixel in jet colours over the image."""
    plt = _pyplot()
    heat = maps.max(axis=0) if len(maps) else np.zeros(image.shape[:2], np.float32)
    colored = (plt.get_cmap('jet')(np.clip(heat, 0, 1))[..., :3] * 255).astype(np.float32)
    return (0.5 * colored + 0.5 * image.astype(np.float32)).astype(np.uint8)


def threshold_curves(ctx, methods, path):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = 0
    for method in methods:
        sweep_path = ctx.step_dir('eval_labels', method) / 'seed_eval.json'
        if not sweep_path.is_file():
            continue
        sweep = json.loads(sweep_path.read_text())
        points = [(t, 100 * m) for t, m in zip(sweep['thresholds'], sweep['miou'])
                  if m is not None]
        if not points:
            continue
        xs, ys = zip(*points)
        line, = ax.plot(xs, ys, label=f'{ctx.settings.method_titles[method]} '
                                      f'(best {100 * sweep["best_miou"]:.1f} at '
                                      f'{sweep["best_threshold"]:.2f})')
        ax.plot([sweep['best_threshold']], [100 * sweep['best_miou']], 'o', color=line.get_color())
        drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel('background threshold')
    ax.set_ylabel('seed mIoU (%)')
    ax.set_title('Seeds: mIoU against the background threshold')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)
    return path


def sample_ids(ids, count):
    """``count`` ids spread evenly over the split (the same for every method)."""
    ids = list(ids)
    if len(ids) <= count:
        return ids
    return [ids[int(i)] for i in np.linspace(0, len(ids) - 1, count).round()]


class Stage2Predictor:
    """The trained segmentor of a method, for single-scale predictions."""

    def __init__(self, ctx, checkpoint):
        allow_mmengine_checkpoints()
        cfg = load(stage2_config(ctx.settings), cfg_options=stage2_options(ctx.settings),
                   data_root=ctx.data_root)
        self.model = init_model(cfg, str(checkpoint), device='cpu')

    def __call__(self, image_path):
        result = inference_model(self.model, str(image_path))
        return result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)


def sample_grid(ctx, method, ids, source, path):
    plt = _pyplot()
    pseudo_dir = ctx.step_dir('make_pseudo_labels', method)
    seg_record = ctx.current_record('train_seg', method)
    predictor = None
    if seg_record is not None:
        predictor = Stage2Predictor(ctx, seg_record['result']['checkpoint'])
    names = ['background'] + list(source.class_names)
    columns = ['image', 'activation map', 'pseudo-label', 'ground truth'] + \
        (['stage-2 prediction'] if predictor else [])
    fig, axes = plt.subplots(len(ids), len(columns), squeeze=False,
                             figsize=(2.2 * len(columns), 2.2 * len(ids)))
    for row, image_id in enumerate(ids):
        image = source.image(image_id)
        cells = [image]
        cams = pseudo_dir / 'cams' / f'{image_id}.npz'
        if cams.is_file():
            with np.load(cams) as data:
                cells.append(heat_overlay(image, data['maps'].astype(np.float32)))
        else:
            cells.append(None)
        label_path = pseudo_dir / 'labels' / f'{image_id}.png'
        cells.append(colorize(read_label_png(label_path)) if label_path.is_file() else None)
        gt = source.gt_mask(image_id)
        cells.append(colorize(gt) if gt is not None else None)
        if predictor:
            cells.append(colorize(predictor(source.image_path(image_id))))
        for col, cell in enumerate(cells):
            ax = axes[row, col]
            ax.axis('off')
            if cell is not None:
                ax.imshow(cell)
            if row == 0:
                ax.set_title(columns[col], fontsize=9)
        classes = ', '.join(names[c] for c in source.labels(image_id))
        axes[row, 0].text(0.5, -0.03, f'{image_id}: {classes}', fontsize=7, ha='center',
                          va='top', transform=axes[row, 0].transAxes)
    fig.suptitle(f'{ctx.settings.method_titles[method]}: maps, pseudo-labels (cream = 255), '
                 'ground truth and stage-2 predictions', fontsize=10)
    _save(fig, path)
    return path


def make_figures(ctx, results):
    out = ctx.work_dir / 'figures'
    figures = {}
    methods = list(results['methods'])
    curve = threshold_curves(ctx, methods, out / 'threshold_curves.png')
    if curve:
        figures['threshold_curves'] = curve
    count = int((ctx.settings.get('figures') or {}).get('num_images', 6))
    for method in methods:
        if ctx.current_record('make_pseudo_labels', method) is None:
            continue
        source = build_eval_source(stage1_config(ctx.settings, method),
                                   split=ctx.eval_split,
                                   data_root=ctx.data_root,
                                   cfg_options=stage1_options(ctx.settings, method))
        ids = sample_ids(source.ids, count)
        figures[f'samples_{method}'] = sample_grid(ctx, method, ids, source,
                                                   out / f'samples_{method}.png')
    return figures
