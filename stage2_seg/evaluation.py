"""``PalettePNGWriter``: predictions as VOC-palette PNGs (``test_seg.py --out``).

mmseg's ``IoUMetric(output_dir=...)`` writes greyscale PNGs; the VOC
evaluation server and every viewer of VOC-style results expect palette PNGs
holding class indices (the format stage 1 writes, ``wsss_core.io``). Used as
a second evaluator next to ``IoUMetric``, so one test pass scores and writes.
"""
from pathlib import Path

import numpy as np
from mmengine.evaluator import BaseMetric
from mmseg.registry import METRICS

from wsss_core.io import write_label_png


@METRICS.register_module()
class PalettePNGWriter(BaseMetric):
    """Write ``out_dir/<image stem>.png`` (0 background, 1..C) per prediction."""

    def __init__(self, out_dir, collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze(0).cpu().numpy().astype(np.uint8)
            write_label_png(self.out_dir / f'{Path(sample["img_path"]).stem}.png', pred)
            self.results.append(1)

    def compute_metrics(self, results):
        return {}
