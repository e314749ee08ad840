"""Fault injection through the real command line: damaged cache entries, colliding names, unwritable outputs,
Ctrl-C, concurrent runs, invalid arguments. Each asserts the exit status, a one-line message naming the culprit,
no traceback, and no file left half-written or overwritten."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import run_xaireport, terminal_ctrl_c
from xaireport import cli
from xaireport.core import cache as cache_mod


@pytest.fixture()
def proj(tmp_path: Path, root: Path) -> Path:
    """A report folder of its own (settings, one image, its own cache) for the CLI to run in."""
    (tmp_path / "_quarto.yml").write_text(
        "project:\n  type: website\nxaireport:\n  device: cpu\n  classifier:\n    model: efficientnet-lite0\n"
        "  images:\n    folder: imgs\n  paths:\n    cache: cache\n    results: results\n    figures: figures\n"
    )
    (tmp_path / "imgs").mkdir()
    shutil.copy(root / "data/images/coffee.png", tmp_path / "imgs/coffee.png")
    return tmp_path


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    cache_mod._WARNED.clear()
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def error_line(err: str) -> str:
    """The one error line (progress notes such as 'xaireport: loading ...' may precede it)."""
    lines = [line for line in err.strip().splitlines() if "error:" in line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def no_temp_files(*folders: Path) -> bool:
    return not any(p.name.endswith(".tmp") for f in folders if f.exists() for p in f.rglob("*"))


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "zero-byte":
        path.write_bytes(b"")
    elif how == "junk":
        path.write_bytes(os.urandom(len(data)))
    elif how == "mismatched-meta":  # a valid npz whose meta lists arrays the file does not hold
        import io
        import json

        buf = io.BytesIO()
        np.savez(buf, __meta__=np.array(json.dumps({"__arrays__": ["map"], "class_index": 1})), other=np.zeros(3))
        path.write_bytes(buf.getvalue())
    elif how == "meta-key-missing":  # an entry as written, its metadata without "class_index"
        import io
        import json

        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("__meta__")))
        del meta["class_index"]
        buf = io.BytesIO()
        np.savez(buf, __meta__=np.array(json.dumps(meta)), **arrays)
        path.write_bytes(buf.getvalue())
    elif how == "bad-meta-json":
        import io

        buf = io.BytesIO()
        np.savez(buf, __meta__=np.array("{not json"), map=np.zeros((2, 2)))
        path.write_bytes(buf.getvalue())


def test_damaged_cache_entries_are_recomputed_with_one_warning(proj, capsys):
    code, _, err = run_cli(capsys, "cams", "--project", str(proj), "--methods", "gradcam", "--out", str(proj / "o0"))
    assert code == 0, err
    reference = (proj / "o0/gradcam/coffee.npy").read_bytes()
    entries = sorted((proj / "cache/explanations").glob("*.npz"))
    assert len(entries) == 1
    damages = ["truncated", "zero-byte", "junk", "mismatched-meta", "bad-meta-json", "meta-key-missing"]
    for i, how in enumerate(damages, 1):
        _damage(entries[0], how)
        code, _, err = run_cli(
            capsys, "cams", "--project", str(proj), "--methods", "gradcam", "--out", str(proj / f"o{i}")
        )
        assert code == 0, (how, err)
        warnings = [line for line in err.splitlines() if "damaged cache entry" in line]
        assert len(warnings) == 1 and str(entries[0]) in warnings[0], (how, err)
        assert (proj / f"o{i}/gradcam/coffee.npy").read_bytes() == reference, how
        assert cache_mod.ResultCache(proj / "cache").load("explanations", entries[0].stem) is not None  # replaced
    assert no_temp_files(proj / "cache")


def test_colliding_stems_are_refused_up_front(proj, capsys):
    shutil.copy(proj / "imgs/coffee.png", proj / "imgs/Coffee.jpg")
    for command in (["cams", "--methods", "gradcam"], ["lime", "--num-samples", "10"]):
        code, _, err = run_cli(capsys, *command, "--project", str(proj), "--out", str(proj / "out"))
        assert code == 2
        line = error_line(err)
        assert "Coffee.jpg and coffee.png" in line and "overwrite" in line
        assert not (proj / "out").exists()


@pytest.mark.parametrize("target", ["/proc/xaireport-out", "FILE/sub"])
def test_unwritable_out_is_one_line_before_any_work(proj, capsys, target):
    (proj / "FILE").write_text("x")
    out = target.replace("FILE", str(proj / "FILE"))
    for command in (["cams", "--methods", "gradcam"], ["lime", "--num-samples", "10"]):
        code, _, err = run_cli(capsys, *command, "--project", str(proj), "--out", out)
        assert code == 2 and out in error_line(err) and "--out" in error_line(err)
        assert "loading" not in err  # refused before the model was loaded


def test_unwritable_folder_for_a_non_root_user(proj, capsys):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    ro = proj / "ro"
    ro.mkdir(mode=0o555)
    code, _, err = run_cli(capsys, "cams", "--project", str(proj), "--methods", "gradcam", "--out", str(ro / "o"))
    assert code == 2 and "cannot be written" in error_line(err)


def test_compare_out_must_be_a_writable_file(proj, capsys):
    (proj / "c/gradcam").mkdir(parents=True)
    (proj / "l").mkdir()
    for out, message in ((proj, "must be a file, and this is a folder"), ("/proc/x/iou.csv", "cannot be written")):
        code, _, err = run_cli(
            capsys,
            "compare",
            "--project",
            str(proj),
            "--cams",
            str(proj / "c"),
            "--lime",
            str(proj / "l"),
            "--out",
            str(out),
        )
        assert code == 2 and message in error_line(err)
    code, _, err = run_cli(capsys, "compare", "--cams", "c", "--lime", "l", "--out", "x.csv", "--threshold", "5")
    assert code == 2 and "--threshold: must be in [0, 1], got 5.0" in error_line(err)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--probe-size", "0"], "argument --probe-size: must be at least 1, got 0"),
        (["--probe-size", "-5"], "argument --probe-size: must be at least 1, got -5"),
        (["--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
        (["--num-workers", "-1"], "argument --num-workers: must be at least 0, got -1"),
        (["--model", "resnet51"], "unknown model 'resnet51'"),
        (["--similarity", "cosine"], "unknown similarity 'cosine'"),
        (["--concepts", "nonsense"], "unknown concept set 'nonsense'"),
        (["--layers", "layer4,,fc"], "--layers 'layer4,,fc' has an empty name"),
        (["--probe", "PROBEFILE"], "--probe is a file"),
        (["--probe", "NOPE"], "probe folder not found"),
        (["--out", "OUTFILE"], "--out must be a folder, and this is a file"),
        (["--clip", "ViT-Q-99"], "unknown CLIP architecture 'ViT-Q-99'"),
        (["--weights", "missing.pth"], "missing.pth: weights file not found"),
        (["--clip-weights", "missing.bin"], "missing.bin: file not found: check --clip-weights"),
    ],
)
def test_every_invalid_dissect_argument_is_one_line_before_any_work(proj, capsys, monkeypatch, args, message):
    import xaireport.methods.dissect.probe as probe_mod

    monkeypatch.setattr(probe_mod, "load_probe", lambda *a, **k: pytest.fail("reached the probe set"))
    (proj / "probe.png").write_bytes(b"x")
    (proj / "outfile").write_text("x")
    base = {
        "--model": "resnet18",
        "--probe": "generated",
        "--out": str(proj / "out"),
        "--concepts": "wordfreq-50",
        "--clip": "ViT-S-32",
    }
    for i in range(0, len(args), 2):
        base[args[i]] = (
            args[i + 1]
            .replace("PROBEFILE", str(proj / "probe.png"))
            .replace("NOPE", str(proj / "nope"))
            .replace("OUTFILE", str(proj / "outfile"))
        )
    argv = ["dissect", "--project", str(proj), "--random-weights"] + [x for kv in base.items() for x in kv]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message in error_line(err), err
    assert not (proj / "out").exists()


def test_bad_probe_image_is_named_before_the_pass(proj, capsys, tmp_path):
    from PIL import Image

    probe = tmp_path / "probe"
    probe.mkdir()
    for i in range(3):
        Image.new("RGB", (32, 32), (i * 50, 0, 0)).save(probe / f"p{i}.png")
    (probe / "bad.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    (probe / "empty.png").write_bytes(b"")
    code, _, err = run_cli(
        capsys,
        "dissect",
        "--project",
        str(proj),
        "--model",
        "resnet18",
        "--random-weights",
        "--probe",
        str(probe),
        "--concepts",
        "wordfreq-50",
        "--clip",
        "ViT-S-32",
        "--num-workers",
        "0",
        "--out",
        str(proj / "out"),
    )
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-3].endswith("2 of 5 probe images cannot be used; nothing was computed:")
    assert any("bad.jpg: " in line for line in lines) and any("empty.png: empty file" in line for line in lines)


def test_worker_errors_come_back_as_one_line(tmp_path):
    """An image that passes the cheap check but fails to decode in a DataLoader worker: one line, no traceback."""
    import torch

    from xaireport.core.errors import UserError
    from xaireport.methods.dissect.encoders import _one_line_errors

    class Bad(torch.utils.data.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            raise UserError(f"{tmp_path}/x.jpg: corrupt or truncated image")

    loader = torch.utils.data.DataLoader(Bad(), batch_size=1, num_workers=1)
    with pytest.raises(UserError) as err:
        list(_one_line_errors(loader))
    assert str(err.value) == f"{tmp_path}/x.jpg: corrupt or truncated image"


def test_cli_reads_the_settings_it_shares_with_the_render(proj, capsys):
    shutil.copy(proj / "imgs/coffee.png", proj / "imgs/zebra_copy.png")
    text = (proj / "_quarto.yml").read_text()
    (proj / "_quarto.yml").write_text(text + "  cams:\n    methods: [gradcam]\n")
    (proj / "_quarto.yml").write_text(
        (proj / "_quarto.yml").read_text().replace("folder: imgs", "folder: imgs\n    limit: 1")
    )
    code, _, err = run_cli(capsys, "cams", "--project", str(proj), "--out", str(proj / "out"))
    assert code == 0, err
    assert sorted(p.name for p in (proj / "out").iterdir()) == ["gradcam", "predictions.csv"]  # cams.methods
    assert len((proj / "out/predictions.csv").read_text().splitlines()) == 2  # header + images.limit = 1


def test_without_a_project_the_cli_says_which_it_uses(tmp_path, root):
    env = {k: v for k, v in os.environ.items() if k not in ("QUARTO_PROJECT_DIR", "QUARTO_PROFILE")}
    r = run_xaireport(["check", "--images", str(tmp_path)], cwd=tmp_path, env=env)
    assert f"no _quarto.yml in {tmp_path}" in r.stderr and f"using the report at {root}" in r.stderr
    r = run_xaireport(["check", "--project", str(tmp_path)], cwd=tmp_path, env=env)
    assert r.returncode == 2 and "no _quarto.yml there: --project must be the report's folder" in r.stderr


def test_help_does_not_import_torch():
    code = (
        "import sys, contextlib, io\nfrom xaireport import cli\nwith contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        cli.main(['--help'])\n    except SystemExit:\n        pass\n"
        "print('torch' in sys.modules, 'numpy' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.split() == ["False", "False"], r.stderr
    r = subprocess.run([sys.executable, "-m", "xaireport", "--help"], capture_output=True, text=True)
    assert "Ctrl-C" not in r.stdout and r.stdout.count("without Quarto.") == 1  # the description is whole


def _start(proj: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "xaireport", *args, "--project", str(proj)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=terminal_ctrl_c,
    )


@pytest.mark.parametrize("when", ["while importing", "while loading the model"])
def test_ctrl_c_at_start_up_is_one_line_exit_130(proj, when):
    """Ctrl-C while the command imports its libraries (torch, ...) or loads the model. (A signal before the Python
    interpreter has started running any code cannot be handled by a program; the test waits for the command's
    first sign of life: torch's libraries appearing in its memory map, or its 'loading' line.)"""
    p = _start(proj, "cams", "--methods", "gradcam", "--out", str(proj / "out"))
    if when == "while importing":
        deadline = time.time() + 30
        while time.time() < deadline and "libtorch" not in Path(f"/proc/{p.pid}/maps").read_text():
            time.sleep(0.01)  # torch's shared libraries are being mapped: the command is importing torch
    else:
        assert p.stderr is not None
        line = p.stderr.readline()
        assert line.startswith("xaireport: loading"), line
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    if p.returncode == 0:
        pytest.skip("finished before the signal")
    assert p.returncode == 130, err
    assert err.strip().splitlines()[-1] == "xaireport: interrupted" and "Traceback" not in err


def test_ctrl_c_mid_run_leaves_no_partial_file(proj):
    shutil.copy(proj / "imgs/coffee.png", proj / "imgs/second.png")
    out = proj / "out"
    p = _start(proj, "cams", "--methods", "gradcam,scorecam", "--out", str(out))
    deadline = time.time() + 120
    while time.time() < deadline and not any((proj / "cache").rglob("*.npz")):
        time.sleep(0.2)
    time.sleep(1.0)  # inside ScoreCAM's masked passes
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "Traceback" not in err and err.strip().splitlines()[-1] == "xaireport: interrupted"
    assert no_temp_files(out, proj / "cache")
    for f in out.rglob("*.npy"):
        assert np.load(f).shape == (224, 224)  # complete, not truncated
    for f in (proj / "cache").rglob("*.npz"):
        assert cache_mod.ResultCache(proj / "cache").load(f.parent.name, f.stem) is not None


def test_two_concurrent_runs_on_one_cache_agree(proj):
    runs = [_start(proj, "cams", "--methods", "gradcam,ablationcam", "--out", str(proj / f"out{i}")) for i in (1, 2)]
    for r in runs:
        _, err = r.communicate(timeout=300)
        assert r.returncode == 0, err
    for m in ("gradcam", "ablationcam"):
        assert (proj / f"out1/{m}/coffee.npy").read_bytes() == (proj / f"out2/{m}/coffee.npy").read_bytes()
    assert no_temp_files(proj / "cache")
    for f in (proj / "cache").rglob("*.npz"):
        assert cache_mod.ResultCache(proj / "cache").load(f.parent.name, f.stem) is not None


def test_looping_symlink_is_named_as_a_bad_file(proj, capsys):
    (proj / "imgs/loop.png").symlink_to(proj / "imgs/loop.png")
    code, _, err = run_cli(capsys, "check", "--project", str(proj))
    assert code == 2 and "loop.png: broken or looping symbolic link" in err and "Traceback" not in err


# --- Hostile input (issue 26) -------------------------------------------------------------------------------


def test_an_image_whose_outputs_are_another_images_outputs_is_refused(proj, capsys):
    """``cat.png``'s mask is ``cat-mask.png``, which is also ``cat-mask.png``'s overlay: refused up front."""
    shutil.copy(proj / "imgs/coffee.png", proj / "imgs/coffee-mask.png")
    code, _, err = run_cli(capsys, "cams", "--project", str(proj), "--methods", "gradcam", "--out", str(proj / "o"))
    assert code == 2 and "coffee-mask.png and coffee.png" in error_line(err) and not (proj / "o").exists()


@pytest.mark.parametrize("out", ["imgs", "imgs/out"])
def test_out_in_the_images_folder_is_refused(proj, capsys, out):
    for command in (["cams", "--methods", "gradcam"], ["lime", "--num-samples", "10"]):
        code, _, err = run_cli(capsys, *command, "--project", str(proj), "--out", str(proj / out))
        assert code == 2 and "inside the images folder" in error_line(err) and "loading" not in err
    assert sorted(p.name for p in (proj / "imgs").iterdir()) == ["coffee.png"]


def test_an_unwritable_cache_folder_is_one_line_before_any_work(proj, capsys):
    (proj / "_quarto.yml").write_text((proj / "_quarto.yml").read_text().replace("cache: cache", "cache: /proc/c"))
    code, _, err = run_cli(capsys, "cams", "--project", str(proj), "--methods", "gradcam", "--out", str(proj / "o"))
    assert code == 2 and "/proc/c" in error_line(err) and "paths.cache" in error_line(err) and "loading" not in err


def _sparse_8gib(path: Path) -> None:
    path.touch()
    os.truncate(path, 8 * 2**30)  # no disk used; reading it would take 8 GiB


def _strip_png(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (100000, 1)).save(path)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.symlink_to("/dev/zero"), "not a regular file"),
        (lambda p: os.mkfifo(p), "not a regular file"),
        (_sparse_8gib, "is more than an image of 64 MP"),
        (_strip_png, "aspect ratio 100000:1"),
    ],
    ids=["dev-zero", "fifo", "sparse-8GiB", "strip-100000x1"],
)
def test_files_that_would_hang_or_exhaust_memory_are_refused_before_reading(proj, capsys, make, message):
    bad = proj / "imgs/bad.png"
    make(bad)
    started = time.monotonic()
    code, _, err = run_cli(capsys, "check", "--project", str(proj))
    assert code == 2 and "bad.png: " in err and message in err and "Traceback" not in err
    assert time.monotonic() - started < 30  # no 8 GiB read, no hang on the FIFO


def test_a_huge_lime_sample_count_is_refused_by_its_range(proj, capsys):
    code, _, err = run_cli(
        capsys, "lime", "--project", str(proj), "--num-samples", "1000000000000", "--out", str(proj / "o")
    )
    assert code == 2 and "lime.num_samples = 1000000000000 is out of range: it must be in [2, 100000]" in err


def test_a_binary_settings_file_is_one_line(proj, capsys):
    (proj / "_quarto.yml").write_bytes(b"\x00\xdc\xff binary")
    code, _, err = run_cli(capsys, "check", "--project", str(proj))
    assert code == 2 and "_quarto.yml: not a text file" in error_line(err)


def test_nested_yaml_aliases_are_reported_quickly(proj, capsys):
    """A "billion laughs" settings file: 9 levels of 9 aliases is 9**9 strings to any walk over the value."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    (proj / "_quarto.yml").write_text("\n".join([*lines, "xaireport:", "  seed: *i", ""]))
    started = time.monotonic()
    code, _, err = run_cli(capsys, "check", "--project", str(proj))
    assert code == 2 and "xaireport.seed must be int" in error_line(err) and len(error_line(err)) < 300
    assert time.monotonic() - started < 5
    many = [f"k{i}: &k{i} 1" for i in range(120)] + [
        "xaireport:",
        "  extra: [" + ",".join(f"*k{i}" for i in range(120)) + "]",
    ]
    (proj / "_quarto.yml").write_text("\n".join(many) + "\n")
    code, _, err = run_cli(capsys, "check", "--project", str(proj))
    assert code == 2 and "more than 100 YAML aliases" in error_line(err)


def test_an_unknown_timm_tag_names_the_known_tags(proj, capsys):
    code, _, err = run_cli(capsys, "check", "--project", str(proj), "--model", "timm:resnet18.nosuchtag")
    line = error_line(err)
    assert code == 2 and "timm has no pretrained tag 'nosuchtag' for resnet18" in line and "a1_in1k" in line


def test_a_file_name_that_is_not_utf8_is_written_escaped(proj, capsys):
    name = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: a surrogate in Python, not encodable as UTF-8
    shutil.copy(proj / "imgs/coffee.png", proj / "imgs" / name)
    (proj / "imgs/coffee.png").unlink()
    code, _, err = run_cli(capsys, "cams", "--project", str(proj), "--methods", "gradcam", "--out", str(proj / "o"))
    assert code == 0, err
    text = (proj / "o/predictions.csv").read_text(encoding="utf-8")
    stem = os.fsdecode(b"caf\xe9")
    assert "caf\\udce9.png" in text and (proj / "o/gradcam" / f"{stem}.npy").is_file()


def test_a_classes_file_with_a_byte_order_mark_has_clean_names(proj, capsys):
    from xaireport.models import read_classes

    (proj / "c.txt").write_text("\ufeffzero\none\n", encoding="utf-8")
    assert read_classes(proj / "c.txt", 2) == ["zero", "one"]


@pytest.mark.slow
def test_two_runs_into_one_out_and_one_cache_never_collide(proj):
    """Issue 26: two ``cams`` runs at once into the same ``--out`` and the same cache, 20 rounds (a fixed temporary
    name failed 5 rounds in 13): every run exits 0, no temporary is left, every output is complete."""
    out = proj / "out"
    for round_ in range(20):
        runs = [_start(proj, "cams", "--methods", "gradcam", "--out", str(out)) for _ in range(2)]
        for r in runs:
            _, err = r.communicate(timeout=300)
            assert r.returncode == 0, f"round {round_}: {err}"
            assert "\r" not in err and "\x1b" not in err  # a log (a pipe) gets plain progress lines, no bar
        assert no_temp_files(out, proj / "cache"), f"round {round_}"
    assert np.load(out / "gradcam/coffee.npy").shape == (224, 224)
    from PIL import Image

    for png in out.rglob("*.png"):
        with Image.open(png) as im:
            im.verify()


@pytest.mark.slow
def test_two_hundred_12_megapixel_images_keep_cams_under_2_gb(proj):
    """Issue 26: memory stays flat in the number of images: ``cams`` over 200 photos of 12 MP (36 MB each decoded,
    7 GB together) peaks under 2 GB of resident memory (measured by the kernel for the CLI process)."""
    from PIL import Image

    (proj / "imgs/coffee.png").unlink()
    for i in range(200):
        Image.new("RGB", (4000, 3000), (i, (7 * i) % 256, 100)).save(proj / f"imgs/im{i:03d}.jpg", quality=90)
    wrapper = (
        "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
        "print('RESULT', r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    command = [sys.executable, "-m", "xaireport", "cams", "--methods", "gradcam", "--out", str(proj / "out")]
    r = subprocess.run(
        [sys.executable, "-c", wrapper, *command, "--project", str(proj)], capture_output=True, text=True, timeout=1200
    )
    _, code, peak_kb = r.stdout.strip().splitlines()[-1].split()
    assert code == "0", r.stderr[-2000:]
    assert len(list((proj / "out/gradcam").glob("*.npy"))) == 200
    print(f"cams over 200 images of 12 MP: peak RSS {int(peak_kb) / 2**20:.2f} GB")  # shown with pytest -s
    assert int(peak_kb) * 1024 < 2 * 2**30, f"peak RSS {int(peak_kb) / 2**20:.2f} GB"
