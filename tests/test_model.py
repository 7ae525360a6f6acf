"""The model: shapes, receptive field, strict causality, the unpadded training path, config checks."""

import pytest
import torch

from wavenet_gui.core.errors import ConfigError
from wavenet_gui.core.model import WaveNet, WaveNetConfig

CONFIGS = [
    WaveNetConfig(n_dilations=4, n_blocks=2, n_hidden=8, n_skip=16, n_end=12),
    WaveNetConfig(n_dilations=3, n_blocks=3, n_hidden=6, n_dilation_channels=10, n_skip=7, n_end=9,
                  n_channels=64, bias=False),
]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_receptive_field_and_shapes(cfg):
    model = WaveNet(cfg)
    assert model.receptive_field == cfg.n_blocks * (2 ** cfg.n_dilations - 1) + 1
    x = torch.randint(0, cfg.n_channels, (3, 57))
    assert model(x).shape == (3, cfg.n_channels, 57)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_strictly_causal(cfg):
    torch.manual_seed(0)
    model = WaveNet(cfg)
    x = torch.randint(0, cfg.n_channels, (2, 80))
    base = model(x)
    for t in (0, 5, 31, 78):
        y = x.clone()
        y[:, t + 1:] = torch.randint(0, cfg.n_channels, y[:, t + 1:].shape)
        out = model(y)
        assert torch.equal(out[..., : t + 1], base[..., : t + 1])
        # and the future does matter: position t + 1 sees x[t + 1]
        if t + 1 < 80 and not torch.equal(y[:, t + 1], x[:, t + 1]):
            assert not torch.allclose(out[..., t + 1], base[..., t + 1])


def test_receptive_field_is_exact():
    torch.manual_seed(0)
    cfg = CONFIGS[0]
    model = WaveNet(cfg).double()  # the effect of the oldest sample is tiny: keep it above rounding
    rf = model.receptive_field
    x = torch.randint(0, cfg.n_channels, (1, rf + 40))
    t = rf + 20
    base = model(x)[..., t]
    y = x.clone()
    y[:, t - rf] = (y[:, t - rf] + 1) % cfg.n_channels  # just outside the field: no effect
    assert torch.equal(model(y)[..., t], base)
    y = x.clone()
    y[:, t - rf + 1] = (y[:, t - rf + 1] + 1) % cfg.n_channels  # just inside: an effect
    assert not torch.equal(model(y)[..., t], base)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_unpadded_outputs_equal_full_forward(cfg):
    torch.manual_seed(1)
    model = WaveNet(cfg)
    n = 37
    x = torch.randint(0, cfg.n_channels, (2, model.receptive_field - 1 + n + 11))
    torch.testing.assert_close(model(x, n_outputs=n), model(x)[..., -n:], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        model(x[:, :n], n_outputs=n)


@pytest.mark.parametrize("field,value", [("n_channels", 1), ("n_dilations", 0), ("n_blocks", 0),
                                         ("n_hidden", 0), ("sample_rate", 100), ("quantization", "alaw")])
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ConfigError) as err:
        WaveNetConfig(**{field: value}).validate()
    assert str(err.value).startswith(field)
    assert "\n" not in str(err.value)


def test_config_dict_round_trip_refuses_unknown_and_wrong_types():
    cfg = CONFIGS[1]
    assert WaveNetConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="n_layers_extra"):
        WaveNetConfig.from_dict({**cfg.to_dict(), "n_layers_extra": 3})
    with pytest.raises(ConfigError, match="n_hidden"):
        WaveNetConfig.from_dict({**cfg.to_dict(), "n_hidden": "eight"})
