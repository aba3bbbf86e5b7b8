"""What both stages of the WSSS pipeline use, and neither owns.

* ``errors``: ``UserError``, the base of every error whose message says what
  to fix (the tools print it as one line);
* ``io``: atomic writes, JSON, label PNGs, npz maps;
* ``config``: config loading with one precedence rule, ``ConfigError``;
* ``runner_options``, ``checkpoint``: the mmengine Runner command line and
  checkpoints that load under torch >= 2.6;
* ``classes``: VOC / COCO / demo class names and the VOC palette;
* ``crf``: the dense CRF;
* ``torchvision_weights``: torchvision ImageNet weights, MobileNetV2 stride;
* ``dataset_files``: split lists, ``DatasetError``;
* ``label_folder``: the pseudo-label folder contract (stage 1 writes it,
  stage 2 reads it).

Imports neither ``stage1_cam`` nor ``stage2_seg``.
"""
