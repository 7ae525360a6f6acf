"""Issue 16, the red-team rows that live in the core: each test is one row of the issue's table.

Rows 2, 3, 4 and 14 are hostile model files; row 5 parallel writers into one folder; row 9
the warm-up at interpreter exit; row 10 the bound on generated length; row 11 long and absurd
audio; row 13 a long prime.  The CLI and window rows (1, 6, 7, 8, 12, 15) are elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save as st_save

from wavenet_gui.core.errors import ModelFileError
from wavenet_gui.core.model import MAX_PARAMETERS, WaveNet, WaveNetConfig
from wavenet_gui.core.modelfile import MAX_HEADER_BYTES, load_model, save_model

ROOT = Path(__file__).resolve().parents[1]
CFG = WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8, n_channels=32)


def _python(code: str, *, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (this checkout first on the path)."""
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                **(env or {})}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=ROOT)


# ----------------------------------------------------------------------------- hostile model files
def _saved(tmp_path: Path, *, optimizer: bool = True, losses: bool = True):
    """A real small checkpoint: (header dict, tensors dict) to craft variations from."""
    torch.manual_seed(0)
    model = WaveNet(CFG)
    state = None
    if optimizer:
        moments = {n: (torch.rand_like(p) - 0.5, torch.rand_like(p)) for n, p in model.named_parameters()}
        state = {"step": 7, "lr": 1e-3, "moments": moments}
    path = save_model(tmp_path / "good.safetensors", model, training={"iteration": 7, "loss": 3.0},
                      optimizer_state=state, losses=[5.0, 4.0, 3.0] if losses else None)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        header = json.loads(f.metadata()["wavenet_gui"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return header, tensors


def _write(path: Path, header: dict | str, tensors: dict) -> Path:
    text = header if isinstance(header, str) else json.dumps(header)
    path.write_bytes(st_save(tensors, metadata={"wavenet_gui": text}))
    return path


def _refused(path: Path, *words: str) -> str:
    with pytest.raises(ModelFileError) as err:
        load_model(path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(path.name + ": "), msg
    for w in words:
        assert w in msg, msg
    return msg


def test_row02_a_huge_legal_config_is_refused_before_anything_is_allocated(tmp_path):
    """Row 2: a small file whose config asks for a big model; checked before allocating."""
    header, tensors = _saved(tmp_path, optimizer=False, losses=False)
    big = {k: v for k, v in header.items() if k not in ("n_parameters", "receptive_field")}
    # 51 M parameters (204 MB), under the limit: refused by the tensor shapes, before allocation.
    big["config"] = dict(header["config"], n_hidden=1000, n_skip=128, n_end=128, n_dilations=10, n_blocks=1)
    assert WaveNetConfig.from_dict(big["config"]).n_parameters > 50_000_000
    under = _write(tmp_path / "under.safetensors", big, tensors)
    assert under.stat().st_size < 200_000
    # Far over the limit (thousands of channels): refused by the parameter count.
    huge = dict(big, config=dict(big["config"], n_hidden=4096, n_skip=4096, n_end=4096, n_dilations=20,
                                 n_blocks=64))
    over = _write(tmp_path / "over.safetensors", huge, tensors)
    _refused(over, "too large a model", f"{MAX_PARAMETERS:,}")
    _refused(under, "do not match its config", "shape")
    # Peak memory in a fresh process: the 204 MB model is never built.
    proc = _python(f"""
        import resource, torch
        from wavenet_gui.core.errors import ModelFileError
        from wavenet_gui.core.model import WaveNet, WaveNetConfig
        from wavenet_gui.core.modelfile import load_model
        WaveNet(WaveNetConfig(n_dilations=2, n_blocks=1, n_hidden=4, n_skip=4, n_end=4))
        with torch.device("meta"):
            WaveNet(WaveNetConfig(n_dilations=2, n_blocks=1, n_hidden=4, n_skip=4, n_end=4))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for p in ({str(under)!r}, {str(over)!r}):
            try:
                load_model(p)
            except ModelFileError:
                pass
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """)
    assert proc.returncode == 0, proc.stderr
    grew_mb = int(proc.stdout.split()[-1])
    assert grew_mb < 60, f"loading the refused files grew the peak RSS by {grew_mb} MB"


def _crafted_headers(header: dict) -> dict[str, object]:
    cfg = header["config"]
    return {
        "config_number": dict(header, config=5),
        "config_list": dict(header, config=[1, 2]),
        "config_field_text": dict(header, config=dict(cfg, n_hidden="8")),
        "config_unknown_field": dict(header, config=dict(cfg, n_heads=4)),
        "training_text": dict(header, training="abc"),
        "training_nested_object": dict(header, training={"notes": {"a": [1, {"b": 2}]}}),
        "iteration_negative": dict(header, training={"iteration": -3}),
        "iteration_text": dict(header, training={"iteration": "12"}),
        "learning_rate_nan": json.dumps(dict(header, training={"learning_rate": float("nan")})),
        "batch_size_zero": dict(header, training={"batch_size": 0}),
        "optimizer_step_text": dict(header, optimizer=dict(header["optimizer"], step="abc")),
        "optimizer_step_infinity": json.dumps(dict(header, optimizer=dict(header["optimizer"],
                                                                          step=float("inf")))),
        "optimizer_step_negative": dict(header, optimizer=dict(header["optimizer"], step=-3)),
        "optimizer_step_huge": json.dumps(header).replace('"step": 7', '"step": ' + "9" * 5000),
        "optimizer_lr_zero": dict(header, optimizer=dict(header["optimizer"], lr=0)),
        "optimizer_kind": dict(header, optimizer=dict(header["optimizer"], kind="sgd")),
        "optimizer_text": dict(header, optimizer="adam"),
        "deeply_nested": json.dumps(header)[:-1] + ', "training": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "not_an_object": json.dumps([header]),
        "format_version_text": dict(header, format_version="1"),
        "format_version_zero": dict(header, format_version=0),
        "receptive_field_wrong": dict(header, receptive_field=3),
        "n_parameters_text": dict(header, n_parameters="many"),
        "created_number": dict(header, created=12),
        "unknown_top_level_field": dict(header, payload="x"),
        "not_json": "{'format': 'wavenet-gui-model'}",
    }


CRAFTED = list(_crafted_headers({"config": {}, "optimizer": {}}))


@pytest.mark.parametrize("case", CRAFTED)
def test_row03_every_field_of_the_description_is_checked(tmp_path, case):
    """Row 3: crafted descriptions are refused with one line naming the file, never a traceback."""
    header, tensors = _saved(tmp_path)
    crafted = _crafted_headers(header)[case]
    _refused(_write(tmp_path / f"{case}.safetensors", crafted, tensors))


@pytest.mark.parametrize("dtype, ok", [("F8_E4M3", False), ("I32", False), ("I64", False), ("BOOL", False),
                                       ("F16", True), ("BF16", True), ("F64", True)])
def test_row03_tensor_dtypes(tmp_path, dtype, ok):
    """Row 3: integer, bool and 8-bit float tensors are refused; other floats are cast to float32."""
    header, tensors = _saved(tmp_path)
    torch_dtype = {"F8_E4M3": torch.float8_e4m3fn, "I32": torch.int32, "I64": torch.int64, "BOOL": torch.bool,
                   "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}[dtype]
    crafted = dict(tensors)
    crafted["end2.weight"] = tensors["end2.weight"].to(torch_dtype)
    path = _write(tmp_path / f"{dtype}.safetensors", header, crafted)
    if not ok:
        _refused(path, "end2.weight", dtype)
        return
    loaded = load_model(path)
    w = loaded.model.end2.weight
    assert w.dtype == torch.float32
    assert torch.equal(w.detach(), crafted["end2.weight"].to(torch.float32))


def test_row03_the_cli_exits_2_with_one_line(tmp_path):
    """Row 3, through ``wavenet-cli --model``: exit 2 and one line, no traceback."""
    header, tensors = _saved(tmp_path)
    path = _write(tmp_path / "step.safetensors", dict(header, optimizer=dict(header["optimizer"], step="abc")),
                  tensors)
    proc = subprocess.run([sys.executable, "-m", "wavenet_gui.cli", "--model", str(path), "--output_dir",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "step.safetensors" in lines[0] and "optimizer.step" in lines[0], proc.stderr


def test_row03_own_files_keep_loading_and_nan_losses_are_written_as_null(tmp_path):
    """What the app itself writes passes the schema (a diverged run's NaN loss included)."""
    model = WaveNet(CFG)
    meta = {"training_files": ["a.wav", "b.flac"], "iterations": 3, "final_loss": float("nan"),
            "app": "wavenet-gui 1.0", "iteration": 3, "loss": np.float32(2.5), "seed": 4}
    path = save_model(tmp_path / "m.safetensors", model, training=meta, losses=[3.0, float("nan"), 2.0])
    loaded = load_model(path)
    assert loaded.training == {"training_files": ["a.wav", "b.flac"], "iterations": 3, "final_loss": None,
                               "app": "wavenet-gui 1.0", "iteration": 3, "loss": 2.5, "seed": 4}
    assert loaded.losses == [3.0, 2.0]


def _load_in_subprocess(paths: list[Path], warm: Path) -> list[dict]:
    """load_model each path in a fresh, memory-capped process; report error, bytes read, peak RSS.

    ``warm`` (a good model file) is loaded first, so lazy imports are not counted as reads.
    """
    proc = _python(f"""
        import json, resource, sys, time
        resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))  # main read /dev/zero until killed
        from wavenet_gui.core.errors import ModelFileError
        from wavenet_gui.core.modelfile import load_model

        def rchar():
            with open("/proc/self/io") as f:
                return int(f.readline().split()[1])

        load_model({str(warm)!r})
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # torch, numba, a model loaded
        out = []
        for p in {[str(p) for p in paths]!r}:
            r0, t0 = rchar(), time.monotonic()
            try:
                load_model(p)
                err = None
            except ModelFileError as e:
                err = str(e)
            out.append(dict(error=err, read=rchar() - r0,
                            rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                            grew_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024 - base))
        print(json.dumps(out))
    """, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/io").exists() or not hasattr(os, "mkfifo"), reason="Linux only")
def test_row04_fifo_device_folder_and_sparse_files_are_refused_without_reading_them(tmp_path):
    """Row 4: a FIFO, /dev/zero, a folder named like a model file and 2 GB sparse files."""
    good = save_model(tmp_path / "good.safetensors", WaveNet(CFG))
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    (folder / "model.safetensors").mkdir(parents=True)
    zeros = tmp_path / "zeros.safetensors"
    with open(zeros, "wb") as f:
        f.truncate(2 << 30)
    extended = tmp_path / "extended.safetensors"
    extended.write_bytes(good.read_bytes())
    with open(extended, "r+b") as f:
        f.truncate(2 << 30)
    # A valid header that declares one 2 GB tensor over the sparse data.
    n = (2 << 30) // 4
    table = json.dumps({"__metadata__": {"wavenet_gui": json.dumps({"format": "wavenet-gui-model",
                                                                    "format_version": 1, "config": {}})},
                        "end2.weight": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}).encode()
    table += b" " * (-len(table) % 8)
    declared = tmp_path / "declared.safetensors"
    with open(declared, "wb") as f:
        f.write(len(table).to_bytes(8, "little") + table)
        f.truncate(8 + len(table) + 4 * n)
    try:
        results = _load_in_subprocess([fifo, Path("/dev/zero"), folder, zeros, extended, declared], good)
    finally:
        # unblock a reader stuck on the FIFO (today's main), so that its process can end
        fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
        os.close(fd)
    words = ["named pipe", "device", "is a folder", "not a safetensors", "truncated or damaged", "do not match"]
    names = ["fifo", "/dev/zero", "folder", "zeros", "extended", "declared"]
    for path, r, word in zip(names, results, words, strict=True):
        assert r["error"] is not None and word in r["error"], (path, r)
        assert r["read"] < 1 << 20, f"{path}: read {r['read']:,} bytes before refusing"
    # the peak grew by far less than the 2 GB the last file declares (the imports alone peak near 1 GB)
    assert results[-1]["grew_mb"] < 256, results


def test_row04_non_regular_files_through_a_thread_do_not_block(tmp_path):
    """Row 4, in the window's way (a worker thread): the FIFO answers at once, nothing hangs."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "m.safetensors"
    os.mkfifo(fifo)
    box: dict = {}

    def work():
        try:
            load_model(fifo)
        except ModelFileError as e:
            box["error"] = str(e)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # today's main: open() waits for a writer; give it one and fail
        with open(fifo, "wb"):
            pass
        t.join(10)
        pytest.fail("load_model blocked on a FIFO")
    assert "named pipe" in box.get("error", ""), box


def test_row04_a_header_over_the_limit_is_refused_from_its_first_8_bytes(tmp_path):
    path = tmp_path / "big header.safetensors"
    path.write_bytes((MAX_HEADER_BYTES + 8).to_bytes(8, "little") + b"{" + b" " * 100)
    _refused(path, "header would be", f"{MAX_HEADER_BYTES:,}")


def test_row14_weights_are_checked_after_the_float32_cast(tmp_path):
    """Row 14: float64 weights of 1e300 are inf as float32: refused; small float64 weights load."""
    header, tensors = _saved(tmp_path)
    crafted = {k: (v.to(torch.float64) if "/" not in k else v) for k, v in tensors.items()}
    _ = load_model(_write(tmp_path / "f64.safetensors", header, crafted))
    crafted["layers.1.dilated.weight"] = torch.full_like(crafted["layers.1.dilated.weight"], 1e300)
    _refused(_write(tmp_path / "huge.safetensors", header, crafted), "NaN or infinite", "layers.1.dilated.weight")


@pytest.mark.parametrize("kind, value, words", [
    ("exp_avg", float("nan"), ("Adam's moments", "NaN or infinite")),
    ("exp_avg_sq", float("inf"), ("Adam's moments", "NaN or infinite")),
    ("exp_avg_sq", -1.0, ("negative",)),
])
def test_row14_non_finite_or_negative_adam_moments_are_refused(tmp_path, kind, value, words):
    header, tensors = _saved(tmp_path)
    key = f"optimizer/end1.weight/{kind}"
    crafted = dict(tensors)
    crafted[key] = torch.full_like(tensors[key], value)
    _refused(_write(tmp_path / "moments.safetensors", header, crafted), *words)


def test_row14_moment_pairs_and_optimizer_entry(tmp_path):
    header, tensors = _saved(tmp_path)
    half = {k: v for k, v in tensors.items() if k != "optimizer/end1.weight/exp_avg_sq"}
    _refused(_write(tmp_path / "half.safetensors", header, half), "half of Adam's moments")
    no_entry = {k: v for k, v in header.items() if k != "optimizer"}
    _refused(_write(tmp_path / "noentry.safetensors", no_entry, tensors), "no optimizer entry")
    shape = dict(tensors)
    shape["optimizer/end1.weight/exp_avg"] = torch.zeros(3)
    _refused(_write(tmp_path / "shape.safetensors", header, shape), "optimizer/end1.weight/exp_avg", "shape")
    good = load_model(_write(tmp_path / "good2.safetensors", header, tensors))
    assert good.optimizer_state["step"] == 7 and len(good.optimizer_state["moments"]) == len(
        dict(good.model.named_parameters()))


# ----------------------------------------------------------------------------- row 5: parallel writers
_WRITER = """
    import sys, time
    from pathlib import Path
    import numpy as np
    from wavenet_gui.core.audio import save_audio
    folder, k, go, how = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    if how != "same-name":
        from wavenet_gui.core.session import write_prediction
    audio = np.full(800, (k + 1) / 10, np.float32)  # each writer's own content
    (go.parent / f"ready{k}").touch()
    while not go.exists():
        time.sleep(0.001)
    if how == "same-name":
        path = save_audio(folder / "pred_x.wav", audio, sample_rate=8000, exclusive=True)
    else:
        path = write_prediction(folder, audio, sample_rate=8000)
    print(path)
"""


@pytest.mark.parametrize("how", ["same-name", "write_prediction"])
def test_row05_six_parallel_writers_into_one_folder_give_six_files(tmp_path, how):
    """Row 5: six processes released at the same moment; none overwrites another."""
    import soundfile as sf

    folder, go = tmp_path / "out", tmp_path / "go"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(_WRITER), str(folder), str(k), str(go), how],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for k in range(6)]
    import time

    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready{k}").exists() for k in range(6)) and time.monotonic() < deadline:
        time.sleep(0.01)  # all six have imported and wait on the go file
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    printed = [Path(o[0].strip()) for o in outs]
    assert len(set(printed)) == 6, printed
    files = sorted(folder.iterdir())
    assert len(files) == 6 and not [f for f in files if f.name.startswith(".")], files
    for k, path in enumerate(printed):  # each file holds the audio of the writer that reported it
        data, _ = sf.read(path, dtype="float32")
        assert np.allclose(data, (k + 1) / 10, atol=1e-3), (path, data[:3])
    if how == "same-name":
        assert {f.name for f in files} == {"pred_x.wav", *(f"pred_x-{n}.wav" for n in range(2, 7))}


def test_row05_write_new_file_never_replaces(tmp_path):
    from wavenet_gui.core.fileio import write_new_file

    (tmp_path / "a.bin").write_bytes(b"old")
    assert write_new_file(tmp_path / "a.bin", b"new") == tmp_path / "a-2.bin"
    assert (tmp_path / "a.bin").read_bytes() == b"old" and (tmp_path / "a-2.bin").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-2.bin", "a.bin"]


def test_row05_without_hard_links_the_name_is_reserved_exclusively(tmp_path, monkeypatch):
    from wavenet_gui.core import fileio

    def no_links(*_a, **_k):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(fileio.os, "link", no_links)
    names = [fileio.write_new_file(tmp_path / "b.wav", bytes([k])).name for k in range(3)]
    assert names == ["b.wav", "b-2.wav", "b-3.wav"]
    assert [(tmp_path / n).read_bytes() for n in names] == [b"\x00", b"\x01", b"\x02"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


# ----------------------------------------------------------------------------- row 9: warm-up at exit
_EXIT_DURING_WARM_UP = """
    import atexit, threading, time
    from wavenet_gui.core import fastgen, generation

    # A first run compiles for ~50 s; here the warm-up is made slow on purpose, and the exit
    # takes a moment (as torch's and numba's atexit work does), so that the warm-up goes on
    # while the interpreter exits.
    real_init = fastgen.FastGenerator.__init__
    first = []

    def slow_init(self, *a, **k):
        if not first:
            first.append(1)
            time.sleep(0.5)
        real_init(self, *a, **k)

    fastgen.FastGenerator.__init__ = slow_init
    atexit.register(time.sleep, 3.0)
    threading.Thread(target={target}, name="warm-up", daemon=True).start()
    time.sleep(0.1)
    print("main done", flush=True)
"""


@pytest.mark.parametrize("target", ["generation.warm_up", "lambda: generation.warm_up() or None"])
def test_row09_exit_during_warm_up_is_silent(target):
    """Row 9: the program exits while the fast generator warms up: no traceback, exit 0."""
    proc = _python(_EXIT_DURING_WARM_UP.format(target=target), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "main done"
    assert proc.stderr.strip() == "", proc.stderr[-3000:]


def test_row09_a_real_warm_up_failure_is_still_reported(caplog):
    from wavenet_gui.core.warmup import warm_once

    def broken():
        raise RuntimeError("kernel compile failed")

    assert warm_once("test-broken-kernels", broken) is False
    assert "warming up the test-broken-kernels failed" in caplog.text


# ----------------------------------------------------------------------------- row 13: a long prime
@pytest.mark.parametrize("backend", ["torch", "fast"])
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_row13_only_the_last_receptive_field_of_a_prime_matters(backend, temperature):
    """Row 13: what generate() makes from a long prime equals feeding the whole prime."""
    from wavenet_gui.core.generation import generate, make_generator

    torch.manual_seed(3)
    model = WaveNet(WaveNetConfig(n_dilations=4, n_blocks=2, n_hidden=8, n_skip=8, n_end=8, n_channels=32))
    rf, K, n, seed = model.receptive_field, 3, 40, 11
    prime = np.random.default_rng(0).integers(0, 32, size=(K, 10 * rf))
    got = generate(model, n_samples=n, prime=prime, n_streams=K, seed=seed, temperature=temperature,
                   backend=backend, chunk_size=n).classes
    engine = make_generator(model, n_streams=K, backend=backend)  # the reference: feed every sample
    engine.feed(prime[:, :-1])
    uniforms = np.stack([np.random.default_rng([seed, k]).random(n) for k in range(K)])
    want = engine.run(n, first_input=prime[:, -1], uniforms=uniforms, temperature=temperature)
    getattr(engine, "close", lambda: None)()
    np.testing.assert_array_equal(got, want)


def test_row13_a_ten_minute_prime_with_64_streams_feeds_one_receptive_field(monkeypatch):
    """Row 13: the engine is fed at most one receptive field, and no [64, whole prime] copy is made."""
    from wavenet_gui.core import generation

    model = WaveNet(WaveNetConfig(n_dilations=6, n_blocks=1, n_hidden=8, n_skip=8, n_end=8))
    prime = np.random.default_rng(1).integers(1, 256, size=10 * 60 * 8000).astype(np.uint8)  # 10 min at 8 kHz
    fed = []
    real = generation.make_generator

    def spy(*args, **kwargs):
        engine = real(*args, **kwargs)
        feed = engine.feed

        def counting_feed(classes):
            fed.append(np.asarray(classes).shape)
            return feed(classes)

        engine.feed = counting_feed
        return engine

    monkeypatch.setattr(generation, "make_generator", spy)
    shapes = []
    real_prime = generation._prime_array
    monkeypatch.setattr(generation, "_prime_array", lambda *a: shapes.append(real_prime(*a).shape) or real_prime(*a))
    out = generation.generate(model, n_samples=80, prime=prime, n_streams=64, seed=0)
    assert out.classes.shape == (64, 80)
    assert sum(s[1] for s in fed) <= model.receptive_field - 1, fed
    assert shapes == [(64, model.receptive_field)], shapes


# ----------------------------------------------------------------------------- row 10: long output
def test_row10_in_memory_generation_has_a_stated_bound():
    """Row 10: 1e9 samples x 64 variations in memory is refused at once, in one line."""
    from wavenet_gui.core.errors import ConfigError
    from wavenet_gui.core.generation import MAX_IN_MEMORY_SAMPLES, generate

    model = WaveNet(CFG)
    with pytest.raises(ConfigError) as err:
        generate(model, n_samples=10**9, n_streams=64)
    assert "\n" not in str(err.value) and f"{MAX_IN_MEMORY_SAMPLES:,}" in str(err.value)
    assert str(err.value).startswith("length: ")


def test_row10_streamed_output_is_written_as_it_is_generated_and_equals_generate(tmp_path):
    """Row 10: the files equal what generate() + save_audio make; memory holds one chunk at a time."""
    import soundfile as sf

    from wavenet_gui.core.audio import save_audio
    from wavenet_gui.core.generation import generate
    from wavenet_gui.core.streaming import generate_to_files

    torch.manual_seed(1)
    model = WaveNet(CFG)
    sizes = []

    def on_chunk(p, audio):  # the files grow while generation runs
        sizes.append(sum(f.stat().st_size for f in tmp_path.glob(".*.tmp-*")))

    r = generate_to_files(model, [tmp_path / "a.wav", tmp_path / "b.wav"], n_samples=5000, seed=4,
                          temperature=1.0, callback=on_chunk, backend="torch")
    assert [p.name for p in r.paths] == ["a.wav", "b.wav"] and not r.cancelled and r.n_samples == 5000
    assert len(sizes) > 2 and sizes == sorted(sizes) and sizes[0] < sizes[-1]
    ref = generate(model, n_samples=5000, n_streams=2, seed=4, temperature=1.0, backend="torch")
    for k, path in enumerate(r.paths):
        want = save_audio(tmp_path / f"ref{k}.wav", ref.audio[k], sample_rate=CFG.sample_rate)
        data, rate = sf.read(path, dtype="int16")
        ref_data, _ = sf.read(want, dtype="int16")
        assert rate == CFG.sample_rate and len(data) == 5000
        assert np.abs(data.astype(int) - ref_data).max() <= 1  # equal with libsndfile 1.2's rounding
        want.unlink()
    assert not list(tmp_path.glob(".*"))


def test_row10_cancel_keeps_what_was_made_and_an_abort_leaves_nothing(tmp_path):
    import soundfile as sf

    from wavenet_gui.core.streaming import generate_to_files

    model = WaveNet(CFG)
    cancel = threading.Event()

    def stop_after_two(p, audio):
        if p.done >= 2 * 64:
            cancel.set()

    r = generate_to_files(model, [tmp_path / "kept.wav"], n_samples=10**6, cancel=cancel,
                          callback=stop_after_two, backend="torch")
    assert r.cancelled and 0 < r.n_samples < 10**6
    assert len(sf.read(r.paths[0])[0]) == r.n_samples

    def abort(p, audio):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_to_files(model, [tmp_path / "aborted.wav"], n_samples=10**6, callback=abort, backend="torch")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.wav"]
    # An existing name is never replaced.
    again = generate_to_files(model, [tmp_path / "kept.wav"], n_samples=100, backend="torch")
    assert again.paths == [tmp_path / "kept-2.wav"]


def test_row10_streamed_output_larger_than_the_disk_or_a_wav_file_is_refused_at_once(tmp_path):
    from wavenet_gui.core.errors import ConfigError, OutputError
    from wavenet_gui.core.streaming import MAX_STREAMED_SAMPLES, generate_to_files

    model = WaveNet(CFG)
    with pytest.raises(ConfigError, match="more than a WAV file holds"):
        generate_to_files(model, [tmp_path / "x.wav"], n_samples=MAX_STREAMED_SAMPLES + 1)
    with pytest.raises(OutputError, match="not enough free disk space") as err:
        generate_to_files(model, [tmp_path / f"v{k}.wav" for k in range(64)], n_samples=10**9)
    assert "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- row 11: long and absurd audio
def _wav_header(frames: int, rate: int, channels: int = 1) -> bytes:
    import struct

    data = frames * 2 * channels
    return (b"RIFF" + struct.pack("<I", min(36 + data, 0xFFFFFFFF)) + b"WAVE" + b"fmt "
            + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
            + b"data" + struct.pack("<I", min(data, 0xFFFFFFFF)))


def _sparse_wav(path: Path, *, seconds: float, rate: int, channels: int) -> Path:
    """A 16-bit WAV of ``seconds``: a tone burst every minute, holes (zeros) between."""
    frames = int(seconds * rate)
    with open(path, "wb") as f:
        f.write(_wav_header(frames, rate, channels))
        burst = (8000 * np.sin(np.arange(rate) * 2 * np.pi * 440 / rate)).astype("<i2")
        frame = np.repeat(burst[:, None], channels, axis=1).tobytes()
        for start in range(0, frames - rate, 60 * rate):
            f.seek(44 + start * 2 * channels)
            f.write(frame)
        f.truncate(44 + frames * 2 * channels)
    return path


@pytest.mark.parametrize("rate", [1, 50, 1_000_000])
def test_row11_absurd_sample_rates_are_refused_in_one_line(tmp_path, rate):
    """Row 11: a 100 kB WAV declaring 1 Hz (400 M samples at 8 kHz) is refused, in one line."""
    from wavenet_gui.core.audio import audio_info, load_audio, load_audio_classes
    from wavenet_gui.core.errors import AudioFileError
    from wavenet_gui.core.quantization import Quantizer

    path = tmp_path / f"{rate} Hz.wav"
    x = (8000 * np.sin(np.arange(50_000) / 3)).astype("<i2")
    path.write_bytes(_wav_header(len(x), rate) + x.tobytes())
    for read in (audio_info, lambda p: load_audio(p, sample_rate=8000),
                 lambda p: load_audio_classes(p, sample_rate=8000, quantizer=Quantizer(256))):
        with pytest.raises(AudioFileError) as err:
            read(path)
        assert str(err.value).startswith(f"{path.name}: declares a sample rate of {rate:,} Hz")
        assert "\n" not in str(err.value)


def test_row11_files_longer_than_the_limit_are_refused_from_the_header(tmp_path):
    from wavenet_gui.core.audio import MAX_AUDIO_SECONDS, audio_info, load_audio
    from wavenet_gui.core.errors import AudioFileError

    path = tmp_path / "day.wav"
    frames = (MAX_AUDIO_SECONDS + 3600) * 8000
    with open(path, "wb") as f:
        f.write(_wav_header(frames, 8000))
        f.write(np.arange(1000, dtype="<i2").tobytes())
        f.truncate(44 + 2 * frames)  # sparse: 1.4 GB that take no disk
    for read in (audio_info, lambda p: load_audio(p, sample_rate=8000)):
        with pytest.raises(AudioFileError, match="is 25.0 hours long"):
            read(path)


@pytest.mark.parametrize("cache_frames", [1 << 22, 1000])
def test_row11_block_decoding_gives_what_one_piece_gives(tmp_path, monkeypatch, cache_frames):
    """Row 11: blocks (kept, or decoded twice) and the streaming resampler match a one-piece read."""
    import soundfile as sf
    import soxr

    from wavenet_gui.core import audio
    from wavenet_gui.core.quantization import Quantizer

    monkeypatch.setattr(audio, "CACHE_FRAMES", cache_frames)
    monkeypatch.setattr(audio, "_BLOCK_FRAMES", 4099)  # many blocks, with odd edges
    rng = np.random.default_rng(2)
    x = (0.4 * np.sin(np.arange(90_000) / 9) + 0.05 * rng.standard_normal(90_000) + 0.1).astype(np.float32)
    stereo = np.stack([x, 0.5 * x], axis=1)
    sf.write(tmp_path / "s.wav", stereo, 44100, subtype="FLOAT")
    mono = stereo.mean(axis=1, dtype=np.float64).astype(np.float32)
    mono -= np.float32(mono.mean(dtype=np.float64))
    want = np.clip(soxr.resample(mono, 44100, 8000, quality="HQ"), -1, 1)
    got = audio.load_audio(tmp_path / "s.wav", sample_rate=8000)
    assert got.notes[0] == "mixed 2 channels to mono" and "DC offset" in got.notes[1]
    assert got.samples.shape == want.shape
    np.testing.assert_allclose(got.samples, want, atol=2e-6)
    q = Quantizer(256)
    classes = audio.load_audio_classes(tmp_path / "s.wav", sample_rate=8000, quantizer=q)
    assert classes.classes.dtype == np.uint8 and classes.notes == got.notes
    np.testing.assert_array_equal(classes.classes, q.encode(got.samples))
    wide = audio.load_audio_classes(tmp_path / "s.wav", sample_rate=8000, quantizer=Quantizer(1000))
    assert wide.classes.dtype == np.uint16


def test_row11_classes_match_load_audio_on_the_hostile_corpus(hostile_corpus):
    from tests.hostile import HOSTILE_MIN_SAMPLES, HOSTILE_SAMPLE_RATE
    from wavenet_gui.core.audio import load_audio, load_audio_classes
    from wavenet_gui.core.quantization import Quantizer

    q = Quantizer(256, kind="mu_law")
    for case in hostile_corpus:
        if case.expect != "accept" or case.path.is_dir():
            continue
        a = load_audio(case.path, sample_rate=HOSTILE_SAMPLE_RATE, min_samples=HOSTILE_MIN_SAMPLES)
        c = load_audio_classes(case.path, sample_rate=HOSTILE_SAMPLE_RATE, quantizer=q,
                               min_samples=HOSTILE_MIN_SAMPLES)
        assert c.notes == a.notes, case.label
        np.testing.assert_array_equal(c.classes, q.encode(a.samples), err_msg=case.label)


class _CancelAfter:
    """An Event whose is_set() turns true after ``n`` checks (a window closing mid-read)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.checks = 0

    def is_set(self) -> bool:
        self.checks += 1
        return self.checks > self.n


@pytest.mark.parametrize("after", [0, 3, 40])
def test_row11_a_read_is_cancelled_between_blocks(tmp_path, monkeypatch, after):
    """Row 11: closing the window during a read stops it within a block (both passes)."""
    import soundfile as sf

    from wavenet_gui.core import audio
    from wavenet_gui.core.errors import Cancelled
    from wavenet_gui.core.quantization import Quantizer

    monkeypatch.setattr(audio, "_BLOCK_FRAMES", 1000)
    monkeypatch.setattr(audio, "CACHE_FRAMES", 5000)  # decoded twice: 40 checks land in the second pass
    sf.write(tmp_path / "t.wav", (0.3 * np.sin(np.arange(30_000) / 5)).astype(np.float32), 8000)
    cancel = _CancelAfter(after)
    with pytest.raises(Cancelled, match="t.wav: reading was cancelled"):
        audio.load_audio_classes(tmp_path / "t.wav", sample_rate=16000, quantizer=Quantizer(256), cancel=cancel)
    assert cancel.checks == after + 1


def test_row11_long_file_memory_is_the_output_not_the_file(tmp_path):
    """Row 11: a 10-minute 44.1 kHz stereo WAV (106 MB; 212 MB as float32) read to 8 kHz classes.

    Peak memory grows by about the output (4.8 MB) and a few blocks, not by the file.
    ``bench/long_audio.py`` measures the 6-hour case.
    """
    path = _sparse_wav(tmp_path / "long.wav", seconds=600, rate=44100, channels=2)
    proc = _python(f"""
        import resource
        import numpy as np
        from wavenet_gui.core.audio import load_audio_classes
        from wavenet_gui.core.quantization import Quantizer
        import soxr  # imported before the baseline, like everything else
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        c = load_audio_classes({str(path)!r}, sample_rate=8000, quantizer=Quantizer(256))
        grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024
        print(len(c.classes), c.classes.dtype, grew)
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    n, dtype, grew = proc.stdout.split()
    assert abs(int(n) - 600 * 8000) <= 2 and dtype == "uint8"
    assert int(grew) < 40, f"peak RSS grew by {grew} MB"


def _envelope_reference(x, n_buckets, start, stop):
    x = np.asarray(x)[start:stop]
    bucket = -(-len(x) // n_buckets)
    chunks = [x[i:i + bucket] for i in range(0, len(x), bucket)]
    return bucket, np.array([c.min() for c in chunks]), np.array([c.max() for c in chunks])


@pytest.mark.parametrize("seed", range(12))
def test_row11_display_envelope_is_min_max_per_bucket(seed):
    """Row 11: the plot's envelope over random lengths, bucket counts and ranges (edges included)."""
    from wavenet_gui.core.audio import display_envelope

    rng = np.random.default_rng(seed)
    n = int(rng.choice([1, 2, 7, 999, 1000, 1001, 65_537]))
    x = rng.uniform(-1, 1, n).astype(np.float32)
    n_buckets = int(rng.choice([1, 3, 1000, 5000]))
    start = int(rng.integers(0, n))
    stop = int(rng.integers(start + 1, n + 1))
    env = display_envelope(x, n_buckets=n_buckets, start=start, stop=stop)
    bucket, lo, hi = _envelope_reference(x, n_buckets, start, stop)
    assert env.bucket == bucket and len(env.lo) <= n_buckets
    np.testing.assert_array_equal(env.lo, lo)
    np.testing.assert_array_equal(env.hi, hi)
    np.testing.assert_array_equal(env.starts, start + bucket * np.arange(len(lo)))
    t, y = env.as_line(8000)
    assert len(t) == len(y) == 2 * len(lo) and y.dtype == np.float32


def test_row11_display_envelope_of_hours_of_classes_makes_no_big_array():
    """Row 11: 6 hours at 8 kHz as uint8 classes (173 MB) to 2000 pixels, with no float copy."""
    import tracemalloc

    from wavenet_gui.core.audio import display_envelope
    from wavenet_gui.core.quantization import Quantizer

    q = Quantizer(256)
    classes = np.full(6 * 3600 * 8000, q.centre, np.uint8)
    classes[12345] = 255
    classes[-1] = 1
    tracemalloc.start()
    env = display_envelope(classes, n_buckets=2000, quantizer=q)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20, f"{peak:,} bytes"
    assert len(env.lo) == 2000 and env.hi.max() == 1.0 and env.lo.min() == -1.0
    assert env.hi[0] == 1.0 and env.lo[-1] == -1.0 and env.lo[1] == 0.0
