# ICL (this project's interpretation, docs/icl.md) for WSOL: single-label CE.
_base_ = ['../../../stage1/_base_/models/icl.py']
model = dict(cls_loss='softmax_ce')
