"""The window's Device choice lists only the devices present (CUDA faked: no GPU here)."""

from __future__ import annotations

import torch


def test_device_choice_lists_what_is_present(qtbot, monkeypatch):
    from wavenet_gui.core.session import available_devices
    from wavenet_gui.qt.forms import TrainingForm

    form = TrainingForm()
    qtbot.addWidget(form)
    combo = form.widgets["device"]
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for cuda, listed in ((True, ["cpu", "cuda"]), (False, ["cpu"])):
        monkeypatch.setattr(torch.cuda, "is_available", lambda cuda=cuda: cuda)
        form.set_devices(available_devices())
        assert [combo.itemData(i) for i in range(combo.count())] == listed
    # the precision choice offers what the window's CPU can run (float16 is for CUDA, CLI only)
    precision = form.widgets["precision"]
    assert [precision.itemData(i) for i in range(precision.count())] == ["auto", "float32", "bfloat16"]
