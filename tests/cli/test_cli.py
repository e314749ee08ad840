from __future__ import annotations

import pytest
from PIL import Image

from helpers import run_xaireport


def run(*args, cwd=None):
    return run_xaireport([*args], cwd=cwd)


def test_check_lists_images_with_predictions(root):
    r = run("check", "--profile", "offline", "--device", "cpu", cwd=root)
    assert r.returncode == 0, r.stderr
    assert "efficientnet-lite0 on cpu" in r.stdout
    assert "chelsea.png" in r.stdout and "tiger cat" in r.stdout


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--model", "vgg"], "unknown model 'vgg'"),
        (["--weights", "nope.pth", "--model", "resnet18"], "nope.pth: weights file not found"),
        (["--profile", "nosuch"], "profile 'nosuch' has no such file"),
        (["--device", "cuda:7"], "device 'cuda:7'"),
    ],
)
def test_user_errors_are_one_line_exit_2(root, extra, message):
    r = run("check", *extra, cwd=root)
    assert r.returncode == 2
    assert r.stderr.startswith("xaireport: error: ") and message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_bad_images_folder_lists_every_file(root, tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "good.png")
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / "b.png").write_text("x")
    r = run("check", "--profile", "offline", "--images", str(tmp_path), cwd=root)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0] == "xaireport: error: 2 of 3 images cannot be used; nothing was computed:"
    assert any(line.endswith("a.jpg: empty file (0 bytes): replace it with the image or remove it") for line in lines)
    assert any("b.png: not an image format" in line for line in lines)
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("check", "--images", str(empty), cwd=root)
    assert r.returncode == 2 and "no images found" in r.stderr
