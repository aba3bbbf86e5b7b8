"""Multi-scale + flip maps: one batch per scale (image + flip) gives the same
maps as one view at a time, and the flip view is mirrored back."""
import numpy as np
import pytest
import torch

from stage1_cam.maps import multiscale_maps
from stage1_cam.models import build_model

PREPROCESSOR = dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375])


@pytest.fixture(scope='module')
def bas_model():
    torch.manual_seed(0)
    model = build_model(dict(type='BASClassifier', num_classes=4, cls_loss='multilabel_softmax',
                             backbone=dict(type='mobilenet_v2', pretrained=False),
                             data_preprocessor=PREPROCESSOR))
    # Non-trivial BatchNorm statistics: eval-mode BN must treat views independently.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def _image(height=40, width=52, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    image[:, : width // 3] //= 4  # an asymmetric scene, so a missed un-flip shows
    return image


@pytest.mark.parametrize('kind', ['bas', 'cam', 'fused'])
def test_batched_views_equal_one_view_at_a_time(bas_model, kind):
    image = _image()
    batched = multiscale_maps(bas_model, image, [1, 3], kind=kind, batch_views=True)
    per_view = multiscale_maps(bas_model, image, [1, 3], kind=kind, batch_views=False)
    assert batched.shape == per_view.shape == (2, 40, 52)
    assert batched.max() > 0.99  # max-normalised, not empty
    np.testing.assert_allclose(batched, per_view, rtol=0, atol=1e-5)


def test_default_is_batched(bas_model):
    image = _image(seed=1)
    np.testing.assert_array_equal(multiscale_maps(bas_model, image, [2]),
                                  multiscale_maps(bas_model, image, [2], batch_views=True))


@pytest.mark.parametrize('batch_views', [True, False])
def test_mirrored_image_gives_mirrored_maps(bas_model, batch_views):
    """Image + its flip, each flip undone: the sum is mirror-symmetric in the input."""
    image = _image(seed=2)
    maps = multiscale_maps(bas_model, image, [1, 2], kind='cam', batch_views=batch_views)
    mirrored = multiscale_maps(bas_model, image[:, ::-1].copy(), [1, 2], kind='cam',
                               batch_views=batch_views)
    np.testing.assert_allclose(mirrored, maps[:, :, ::-1], rtol=0, atol=1e-4)
