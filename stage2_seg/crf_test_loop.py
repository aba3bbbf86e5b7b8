"""``CRFTestLoop``: mmengine's test loop with the dense CRF in a worker pool.

The CRF is CPU work of seconds per image while the model needs milliseconds
on a GPU, so running it inside the model (one image after another in the
test process) leaves the GPU idle and one core busy. This loop takes the
model's averaged softmax (``WSSSTTAModel`` without CRF), keeps the classes
that reach the probability floor (``stage2_seg.crf``), and sends the CRF of
each image to ``workers`` forked processes, at most ``2 x workers`` images
ahead (memory does not grow with the split). An image goes to the evaluators
and to the ``after_test_iter`` hooks (visualisation, logging) once its CRF is
back, in dataloader order; ``workers=0`` runs the same CRF function here,
one image after another. Both give identical predictions.
"""
import multiprocessing
import os
from collections import deque

import numpy as np
import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop
from mmengine.runner.amp import autocast
from mmengine.structures import PixelData
from mmseg.registry import LOOPS

from wsss_core.config import ConfigError
from wsss_core.crf import dense_crf

from .crf import check_crf_params, kept_classes, read_rgb, split_crf_cfg
from .models import WSSSTTAModel


def usable_cpus():
    """CPUs this process may run on (its affinity mask, else the CPU count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def resolve_workers(workers):
    """``'auto'`` -> every usable CPU; otherwise a count >= 0 (0: in this process)."""
    if workers == 'auto':
        return usable_cpus()
    try:
        count = int(workers)
    except (TypeError, ValueError):
        count = -1
    if count < 0:
        raise ConfigError(f"crf_workers must be 'auto' or an integer >= 0, got {workers!r}; "
                          'fix --crf-workers or crf_workers in the config.')
    return count


def crf_on_kept(img_path, probs_kept, crf_cfg):
    """The CRF marginals (K, H, W) float32 of the kept classes of one image:
    the work item of the pool and of the in-process path alike."""
    return dense_crf(read_rgb(img_path), 'softmax', probs_kept, params=crf_cfg)


@LOOPS.register_module()
class CRFTestLoop(TestLoop):
    """Test loop: model -> (pool) dense CRF -> evaluators.

    Args:
        crf: the stage-2 ``crf`` config (``preset``, overrides, ``prob_floor``).
        workers: CRF processes (``'auto'``: every usable CPU; 0: in this process).
        Other arguments as mmengine's ``TestLoop``. The model must be a
        ``WSSSTTAModel`` without its own CRF (``load_test_config`` builds it).
    """

    def __init__(self, runner, dataloader, evaluator, crf=None, workers='auto', fp16=False):
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
        check_crf_params(crf)
        self.crf_cfg, self.prob_floor = split_crf_cfg(crf)
        self.workers = resolve_workers(workers)
        self._pool = None
        self._pending = deque()
        self.kept_counts = []   # classes that entered each image's CRF

    def _check_model(self):
        model = self.runner.model.module if is_model_wrapper(self.runner.model) \
            else self.runner.model
        if not isinstance(model, WSSSTTAModel):
            raise ConfigError(f'CRFTestLoop needs the softmax of a WSSSTTAModel, got '
                              f'{type(model).__name__}; set model (or tta_model) type to '
                              'WSSSTTAModel (tools/test_seg.py --crf does).')
        if model.crf is not None:
            raise ConfigError('the WSSSTTAModel runs its own CRF (model.crf) and CRFTestLoop '
                              'would run a second one; set model.crf=None.')

    def run(self):
        self._check_model()
        self.kept_counts = []
        threads = torch.get_num_threads()
        if self.workers > 0:
            self._pool = multiprocessing.get_context('fork').Pool(self.workers)
            # OpenMP threads of the model spinning against busy CRF workers slow
            # it down by orders of magnitude: leave it the cores the pool leaves.
            torch.set_num_threads(max(1, usable_cpus() - self.workers))
        try:
            self.runner.call_hook('before_test')
            self.runner.call_hook('before_test_epoch')
            self.runner.model.eval()
            self.test_loss.clear()
            for idx, data_batch in enumerate(self.dataloader):
                self.run_iter(idx, data_batch)
            while self._pending:
                self._finish(self._pending.popleft())
            metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        finally:
            if self._pool is not None:
                self._pool.terminate() if self._pending else self._pool.close()
                self._pool.join()
                self._pool = None
            self._pending.clear()
            torch.set_num_threads(threads)
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    @torch.no_grad()
    def run_iter(self, idx, data_batch):
        self.runner.call_hook('before_test_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            outputs = self.runner.model.test_step(data_batch)
        jobs = [self._submit(sample) for sample in outputs]
        self._pending.append((idx, data_batch, outputs, jobs))
        limit = 2 * self.workers if self.workers else 1
        while len(self._pending) >= limit or (self._pending and self._ready(self._pending[0])):
            self._finish(self._pending.popleft())

    def _submit(self, sample):
        """Start one image's CRF (here when workers=0); returns (kept, job)."""
        probs = sample.seg_logits.data.float()
        peaks = probs.flatten(1).amax(dim=1).cpu().numpy()
        kept = kept_classes(peaks[:, None], self.prob_floor)
        probs_kept = np.ascontiguousarray(probs[torch.from_numpy(kept).to(probs.device)]
                                          .cpu().numpy(), dtype=np.float32)
        num_classes = probs.shape[0]
        del sample.seg_logits   # the in-flight images keep only what the CRF needs
        self.kept_counts.append(len(kept))
        args = (sample.img_path, probs_kept, self.crf_cfg)
        job = crf_on_kept(*args) if self._pool is None else \
            self._pool.apply_async(crf_on_kept, args)
        return kept, num_classes, job

    @staticmethod
    def _ready(entry):
        return all(isinstance(job, np.ndarray) or job.ready() for _, _, job in entry[3])

    def _finish(self, entry):
        idx, data_batch, outputs, jobs = entry
        for sample, (kept, num_classes, job) in zip(outputs, jobs):
            q_kept = job if isinstance(job, np.ndarray) else job.get()
            q = torch.zeros((num_classes,) + q_kept.shape[1:], dtype=torch.float32)
            q[torch.from_numpy(kept)] = torch.from_numpy(q_kept)
            sample.seg_logits = PixelData(data=q)
            sample.pred_sem_seg = PixelData(data=q.argmax(dim=0, keepdim=True))
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook('after_test_iter', batch_idx=idx, data_batch=data_batch,
                              outputs=outputs)
