"""Stage 2 of the WSSS pipeline: DeepLab in MMSegmentation on pseudo-label folders.

An MMSegmentation plugin: configs load it with
``custom_imports = dict(imports=['stage2_seg'], allow_failed_imports=False)``,
which registers, in mmseg's registries:

* models: ``ASPPV2Head`` (DeepLabV2's ASPP), ``TorchvisionMobileNetV2``
  (the demo backbone), ``WSSSTTAModel`` (multi-scale/flip + dense CRF);
* weight initialiser: ``TorchvisionPretrained`` (torchvision ImageNet files,
  every backbone weight checked);
* datasets: ``LabelDirDataset`` (VOC, 21 classes), ``COCOObjectLabelDirDataset``
  (81), ``DemoLabelDirDataset`` (7), ``FolderLabelDirDataset`` (a user's own
  folder, classes from its config): images + a label folder, pseudo-label
  manifests checked before training;
* transforms: ``RandomRescale`` (scale the image by a random factor, as the
  WSSS DeepLab recipes do);
* metrics: ``PalettePNGWriter`` (predictions as VOC-palette PNGs);
* loops: ``CRFTestLoop`` (the test loop with the dense CRF in a worker pool);
* hooks: ``ValWithoutCudnnBenchmarkHook`` (cuDNN autotuning off while validating).

``tools/train_seg.py`` and ``tools/test_seg.py`` drive it (see ``train.py``
and ``test.py`` here).
"""
from wsss_core.checkpoint import allow_mmengine_checkpoints

from . import datasets, models, transforms, weights  # noqa: F401  (registration)
from . import crf_test_loop, hooks  # noqa: F401  (registration)
from .evaluation import PalettePNGWriter  # noqa: F401

# The configs' custom_imports load this package before any checkpoint is read, so
# mmseg's own loaders (MMSegInferencer, init_model) read this project's
# checkpoints under torch >= 2.6 too (only mmengine's and numpy's types allowed).
allow_mmengine_checkpoints()

__all__ = ['datasets', 'models', 'transforms', 'weights', 'PalettePNGWriter']
