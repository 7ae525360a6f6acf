"""core/allocator.py: freed memory is reused inside ``reuse_freed_memory`` (no page faults for
a block freed and allocated again), returned to the system after it (the resident size drops;
free blocks left inside the heap are reused by glibc as ever), and training runs in it."""

from __future__ import annotations

import resource
import sys

import numpy as np
import pytest
import torch

from wavenet_gui.core import allocator
from wavenet_gui.core.allocator import reuse_freed_memory

pytestmark = pytest.mark.skipif(allocator._glibc() is None or allocator._user_tuned(),
                                reason="glibc's malloc, untuned by the environment, only")

BLOCK = 96 << 20  # above glibc's largest dynamic mmap threshold (32 MiB): mmapped by default


def _faults_of_reallocating(n: int = 3) -> int:
    """Minor page faults of allocating, writing and freeing a BLOCK-sized tensor n times
    (after one first allocation)."""
    torch.ones(BLOCK // 4)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(n):
        torch.ones(BLOCK // 4)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def _rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_freed_blocks_are_reused_inside_and_returned_after():
    pages = 3 * BLOCK // resource.getpagesize()
    outside = _faults_of_reallocating()
    assert outside > 0.9 * pages  # each time fresh pages (the premise of the module)
    with reuse_freed_memory():
        assert allocator.active()
        # steady state after a few rounds (torch aligns big blocks to 2 MiB: the first freed
        # ones do not fit the next aligned request until the heap holds a few)
        inside = min(_faults_of_reallocating() for _ in range(6))
        with reuse_freed_memory():  # nested: still on
            assert allocator.active()
        assert allocator.active()
        rss_kept = _rss_mb()
    assert inside < 0.05 * pages
    assert not allocator.active()
    # after leaving, the kept memory goes back to the system
    assert _rss_mb() < rss_kept - 0.8 * BLOCK / 2**20


def test_left_on_error():
    with pytest.raises(RuntimeError), reuse_freed_memory():
        raise RuntimeError("boom")
    assert not allocator.active()


def test_training_runs_inside_and_leaves_it(tmp_path):
    from wavenet_gui.core.data import WindowSampler
    from wavenet_gui.core.model import WaveNet, WaveNetConfig
    from wavenet_gui.core.training import Trainer, TrainingConfig

    cfg = WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8)
    torch.manual_seed(0)
    classes = np.random.default_rng(0).integers(0, cfg.n_channels, 4000)
    tc = TrainingConfig(train_iterations=3, batch_size=2, target_length=64, output_dir=str(tmp_path),
                        save_weights=False)
    sampler = WindowSampler([classes], receptive_field=cfg.receptive_field, target_length=tc.target_length,
                            n_channels=cfg.n_channels)
    seen = []
    result = Trainer(WaveNet(cfg), sampler, tc).run(callback=lambda p: seen.append(allocator.active()))
    assert result.iterations == 3 and seen == [True, True, True]
    assert not allocator.active()


def test_kept_blocks_are_reused_only_when_unused():
    """The stacked skip input of the fused pass keeps its block from step to step, but never
    while a graph (retain_graph) or a view still holds it; gradients stay those of a fresh pass."""
    from wavenet_gui.core.fused import fused_loss
    from wavenet_gui.core.model import WaveNet, WaveNetConfig

    torch.manual_seed(0)
    model = WaveNet(WaveNetConfig(n_dilations=3, n_blocks=2, n_hidden=8, n_skip=8, n_end=8))
    x = torch.randint(0, 256, (2, model.receptive_field + 40))

    def current():  # the last layer's residual weights get no gradient (unused)
        return [p.grad.clone() for p in model.parameters() if p.grad is not None]

    def grads(**backward):
        model.zero_grad()
        loss = fused_loss(model, x, 40)
        loss.backward(**backward)
        return loss, current()

    want_loss, want = grads()
    with reuse_freed_memory():
        loss1, g1 = grads()
        kept = dict(allocator._kept)
        assert len(kept) == 1
        loss2, g2 = grads()  # reuses the block of the first step
        assert {k: v.data_ptr() for k, v in allocator._kept.items()} == {k: v.data_ptr() for k, v in kept.items()}
        del kept
        # a retained graph holds its block: the next pass takes a new one, and the retained
        # graph's second backward still sees its own values
        model.zero_grad()
        retained = fused_loss(model, x, 40)
        retained.backward(retain_graph=True)
        first = current()
        held = next(iter(allocator._kept.values())).data_ptr()
        grads()
        assert next(iter(allocator._kept.values())).data_ptr() != held
        model.zero_grad()
        retained.backward()
        again = current()
    assert not allocator._kept  # given back on leaving
    for got_loss, got in ((loss1, g1), (loss2, g2)):
        assert torch.equal(got_loss, want_loss)
        assert all(torch.equal(a, b) for a, b in zip(got, want, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


def test_a_block_held_by_one_thread_is_never_handed_to_another():
    """Two trainers in two threads of one process: the block one of them holds only in a local
    variable (torch counts no reference for it) must not be handed to the other."""
    import threading

    import torch

    from wavenet_gui.core.allocator import kept_empty, reuse_freed_memory

    held: dict[str, torch.Tensor] = {}
    first_ready = threading.Event()

    def first() -> None:
        held["first"] = kept_empty("two-threads", (256, 256), torch.float32, "cpu")
        first_ready.set()

    with reuse_freed_memory():
        t = threading.Thread(target=first)
        t.start()
        t.join()
        assert first_ready.is_set()
        other = kept_empty("two-threads", (256, 256), torch.float32, "cpu")
        assert other.data_ptr() != held["first"].data_ptr()
