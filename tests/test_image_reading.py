"""read_image_rgb: every image a data set can hold comes back as HxWx3 uint8,
and a broken file fails with its path in the message.

All images are generated in tmp_path; the real samples only add a check that
a real JPEG reads at its known size.
"""
import numpy as np
import pytest
from PIL import Image

from stage1_cam.datasets import DatasetError, read_image_rgb


def assert_rgb(array, height, width):
    assert array.shape == (height, width, 3)
    assert array.dtype == np.uint8


def save(tmp_path, name, image, **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


def test_truncated_jpeg(tmp_path):
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 255, (64, 64, 3), np.uint8))
    path = save(tmp_path, 'truncated.jpg', noise)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(DatasetError) as err:
        read_image_rgb(path)
    assert str(path) in str(err.value)


def test_zero_byte_file(tmp_path):
    path = tmp_path / 'empty.jpg'
    path.write_bytes(b'')
    with pytest.raises(DatasetError) as err:
        read_image_rgb(path)
    assert str(path) in str(err.value)


def test_not_an_image(tmp_path):
    path = tmp_path / 'notes.png'
    path.write_text('this is not a PNG')
    with pytest.raises(DatasetError, match=str(path)):
        read_image_rgb(path)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match=str(tmp_path / 'gone.jpg')):
        read_image_rgb(tmp_path / 'gone.jpg')


def test_grayscale(tmp_path):
    path = save(tmp_path, 'gray.png', Image.new('L', (7, 5), 77))
    array = read_image_rgb(path)
    assert_rgb(array, 5, 7)
    assert (array == 77).all()


def test_grayscale_jpeg(tmp_path):
    assert_rgb(read_image_rgb(save(tmp_path, 'gray.jpg', Image.new('L', (16, 9), 200))), 9, 16)


def test_cmyk_jpeg(tmp_path):
    path = save(tmp_path, 'cmyk.jpg', Image.new('CMYK', (20, 10), (0, 0, 0, 0)))
    with Image.open(path) as image:
        assert image.mode == 'CMYK'
    array = read_image_rgb(path)
    assert_rgb(array, 10, 20)
    assert array.min() > 240  # no ink is white


def test_rgba_drops_alpha(tmp_path):
    path = save(tmp_path, 'rgba.png', Image.new('RGBA', (6, 4), (10, 20, 30, 0)))
    array = read_image_rgb(path)
    assert_rgb(array, 4, 6)
    assert (array == (10, 20, 30)).all()


def test_grayscale_with_alpha(tmp_path):
    array = read_image_rgb(save(tmp_path, 'la.png', Image.new('LA', (3, 2), (90, 128))))
    assert_rgb(array, 2, 3)
    assert (array == 90).all()


def test_palette_image_gives_colours_not_indices(tmp_path):
    image = Image.new('P', (5, 3), 1)
    image.putpalette([0, 0, 0, 200, 100, 50] + [0, 0, 0] * 254)
    array = read_image_rgb(save(tmp_path, 'palette.png', image))
    assert_rgb(array, 3, 5)
    assert (array == (200, 100, 50)).all()


def test_palette_gif_with_transparency(tmp_path):
    image = Image.new('P', (4, 4), 2)
    image.putpalette([0, 0, 0, 255, 255, 255, 0, 128, 0] + [0, 0, 0] * 253)
    array = read_image_rgb(save(tmp_path, 'anim.gif', image, transparency=0))
    assert_rgb(array, 4, 4)
    assert (array == (0, 128, 0)).all()


def test_bilevel(tmp_path):
    assert_rgb(read_image_rgb(save(tmp_path, 'bw.png', Image.new('1', (9, 8), 1))), 8, 9)


@pytest.mark.parametrize('width,height', [(1, 1), (4000, 100), (100, 4000)])
def test_extreme_sizes(tmp_path, width, height):
    path = save(tmp_path, f'{width}x{height}.jpg', Image.new('RGB', (width, height), (1, 2, 3)))
    assert_rgb(read_image_rgb(path), height, width)


def test_png_stored_with_jpg_name(tmp_path):
    """Content decides, not the extension (some dumps misname their files)."""
    path = save(tmp_path, 'misnamed.jpg', Image.new('RGB', (3, 3), (5, 6, 7)), format='PNG')
    assert (read_image_rgb(path) == (5, 6, 7)).all()


def test_real_voc_jpeg(real_data):
    path = real_data / 'icevision' / 'samples' / 'voc' / 'JPEGImages' / '2007_000063.jpg'
    array = read_image_rgb(path)
    assert_rgb(array, 375, 500)
    assert array.std() > 10  # real photo content, not a blank decode
