# CAM for WSOL: single-label softmax CE (the stage-1 CAM model otherwise).
# Localization: the ground-truth class's ReLU(CAM), min-max normalised.
_base_ = ['../../../stage1/_base_/models/cam.py']
model = dict(cls_loss='softmax_ce')
