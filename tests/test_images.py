from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from xaireport.core.errors import UserError
from xaireport.images import load_folder, read_image, to_rgb


def _save(path, img, **kw):
    img.save(path, **kw)
    return path


def test_report_images_are_ten_rgb_photos(root):
    imgs = load_folder(root / "data/images")
    assert len(imgs) == 10
    for im in imgs:
        assert im.array.dtype == np.uint8 and im.array.ndim == 3 and im.array.shape[2] == 3
        assert len(im.digest) == 64
    assert (root / "data/images/CREDITS.md").is_file()


def test_greyscale_becomes_three_equal_channels(tmp_path):
    g = np.arange(64, dtype=np.uint8).reshape(8, 8) * 3
    arr, _ = read_image(_save(tmp_path / "g.png", Image.fromarray(g, "L")))
    assert arr.shape == (8, 8, 3) and (arr[..., 0] == g).all() and (arr[..., 2] == g).all()


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red
    rgba[:2, :, 3] = 255  # top half opaque, bottom half transparent
    arr, _ = read_image(_save(tmp_path / "a.png", Image.fromarray(rgba, "RGBA")))
    assert (arr[0, 0] == [255, 0, 0]).all()
    assert (arr[3, 3] == [255, 255, 255]).all()


def test_cmyk_jpeg_is_converted(tmp_path):
    img = Image.new("CMYK", (10, 6), (0, 255, 255, 0))  # pure red in CMYK
    arr, _ = read_image(_save(tmp_path / "c.jpg", img, quality=95))
    assert arr.shape == (6, 10, 3)
    assert arr[..., 0].mean() > 200 and arr[..., 1].mean() < 60


def test_sixteen_bit_greyscale_is_scaled(tmp_path):
    a = np.array([[0, 65535], [32896, 257]], dtype=np.uint16)
    arr, _ = read_image(_save(tmp_path / "d.png", Image.fromarray(a)))
    assert arr[..., 0].tolist() == [[0, 255], [128, 1]]


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (4, 4), 1)
    img.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    img.info["transparency"] = 0
    arr, _ = read_image(_save(tmp_path / "p.png", img, transparency=0))
    assert (arr == [0, 0, 255]).all()


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (5, 5), c) for c in [(255, 0, 0), (0, 255, 0)]]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    arr, _ = read_image(tmp_path / "anim.gif")
    assert arr[0, 0, 0] > 200 and arr[0, 0, 1] < 50


def test_float_tiff(tmp_path):
    f = np.array([[0.0, 1.0], [0.5, 0.25]], dtype=np.float32)
    arr, _ = read_image(_save(tmp_path / "f.tif", Image.fromarray(f, "F")))
    assert arr[..., 0].tolist() == [[0, 255], [128, 64]]


def test_to_rgb_does_not_change_rgb():
    a = np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    assert (to_rgb(Image.fromarray(a)) == a).all()


def test_bad_files_are_all_listed_and_nothing_returned(tmp_path):
    _save(tmp_path / "ok.png", Image.new("RGB", (8, 8)))
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (9, 9, 9)).save(buf, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[:200])
    (tmp_path / "notes.txt").write_text("ignored: not an image extension")
    with pytest.raises(UserError) as info:
        load_folder(tmp_path)
    msg = str(info.value)
    assert msg.startswith("3 of 4 images cannot be used; nothing was computed")
    assert "empty.jpg: empty file" in msg
    assert "text.png: not an image format" in msg
    assert "cut.jpg: corrupt or truncated" in msg
    assert "ok.png" not in msg


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "readme.md").write_text("x")
    with pytest.raises(UserError, match="no images found"):
        load_folder(tmp_path)
    with pytest.raises(UserError, match="images folder not found"):
        load_folder(tmp_path / "nope")


def test_huge_image_is_refused_before_decoding(tmp_path):
    _save(tmp_path / "big.png", Image.new("L", (3000, 2000)))
    with pytest.raises(UserError, match=r"3000×2000 pixels \(6 MP\) is above the 5 MP limit"):
        load_folder(tmp_path, max_megapixels=5)


def test_limit_keeps_first_images_by_name(root):
    names = [im.name for im in load_folder(root / "data/images", limit=2)]
    assert names == ["astronaut.png", "camera.png"]


def test_a_folder_is_validated_without_holding_every_image(tmp_path):
    """Issue 26: 20 images of 4 MP (12 MB each decoded, 240 MB together) are validated and then read one at a
    time: memory grows by a few images, not by the folder."""
    from PIL import Image

    from xaireport.core.memory import measure
    from xaireport.images import DECODED_KEPT, load_folder

    for i in range(20):
        Image.new("RGB", (2000, 2000), (i * 10, 50, 100)).save(tmp_path / f"im{i:02d}.png")

    def use_all() -> list[int]:
        return [int(im.array[0, 0, 0]) for im in load_folder(tmp_path)]

    firsts, _, peak = measure(use_all, "cpu", interval=0.002)
    assert firsts == [i * 10 for i in range(20)]
    # 20 held would be 240 MB. The peak is the kernel's exact high-water mark (core/memory.py), which also sees the
    # short-lived decode buffers of the image being read (measured 115 MB: the kept images plus a few buffers)
    assert peak < (DECODED_KEPT + 8) * 12 * 2**20


def test_an_image_changed_after_validation_is_one_line(tmp_path):
    from PIL import Image

    from xaireport.core.errors import UserError
    from xaireport.images import load_folder

    Image.new("RGB", (30, 20), (1, 2, 3)).save(tmp_path / "a.png")
    (im,) = load_folder(tmp_path)
    Image.new("RGB", (30, 20), (9, 9, 9)).save(tmp_path / "a.png")
    with pytest.raises(UserError, match="a.png: the file changed while the report was running"):
        im.array  # noqa: B018 - the property decodes
