"""Stage 1 of the WSSS pipeline: classifiers trained from image-level labels
(CAM, BAS, ICL), their activation maps, and CRF-refined pseudo-labels."""

__version__ = '0.1.0'
