# BAS for WSOL (BAS-Extension WSOL/): single-label CE; the generator's map of
# the ground-truth class in training (one-hot labels: the "random positive"
# is the GT class); L_frg trains F too (frg_detach=False, the WSOL code).
# L = CE + frg * L_frg + L_bas + area * L_ac; top-level configs set frg/area
# (alpha/beta per backbone). The background branch is stage 1's (frozen
# current weights of the later stage).
_base_ = ['../../../stage1/_base_/models/bas.py']
model = dict(cls_loss='softmax_ce', frg_detach=False,
             loss_weights=dict(mcls=1.0, bas=1.0))
