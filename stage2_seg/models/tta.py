"""``WSSSTTAModel``: the test-time protocol WSSS papers report.

mmseg's ``SegTTAModel`` already averages the softmax over the augmented views
(each view's logits are flipped back and resized to the original image by the
segmentor). This subclass adds the dense CRF over that averaged probability
map, before the argmax, as deeplab-pytorch and the WSSS repositories do, and
keeps the probabilities as ``seg_logits`` of the merged sample.
"""
import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from ..crf import check_crf_params, crf_refine, read_rgb


@MODELS.register_module()
class WSSSTTAModel(SegTTAModel):
    """Mean softmax over views -> optional dense CRF -> argmax.

    Args:
        module: the segmentor config (``EncoderDecoder``).
        crf: None (no CRF) or CRF parameters: ``dict(preset='deeplab', ...)``
            with overrides of ``wsss_core.crf.CRF_PRESETS`` numbers.
    """

    def __init__(self, module, crf=None, data_preprocessor=None):
        super().__init__(module=module, data_preprocessor=data_preprocessor)
        self.crf = None if crf is None else dict(crf)
        if self.crf is not None:
            check_crf_params(self.crf)

    def merge_preds(self, data_samples_list):
        merged = []
        for views in data_samples_list:
            probs = None
            for view in views:
                p = view.seg_logits.data.float().softmax(dim=0)
                probs = p if probs is None else probs + p
            probs = probs / len(views)
            if self.crf is not None:
                image = read_rgb(views[0].img_path)
                q = crf_refine(image, probs.cpu().numpy(), self.crf)
                probs = torch.from_numpy(q).to(probs.device)
            sample = SegDataSample(metainfo=views[0].metainfo)
            sample.seg_logits = PixelData(data=probs)
            sample.pred_sem_seg = PixelData(data=probs.argmax(dim=0, keepdim=True))
            if 'gt_sem_seg' in views[0]:
                sample.gt_sem_seg = views[0].gt_sem_seg
            merged.append(sample)
        return merged
