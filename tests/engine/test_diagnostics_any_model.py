"""Diagnostics of any nn.Module classifier: layers named by path, dead units of ReLU modules and calls, n/a
activations with their reason, C classes; and the reference CNN as one case (the old path's numbers)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from engine_helpers import TINY, Recorder
from torch import nn

import lrtui.engine.diagnostics as diagnostics
import lrtui.engine.tracing as tracing
from lrtui.engine.activations import NOTHING_SEEN, UnitsFired
from lrtui.engine.diagnostics import LAYERS, RELU_LAYERS, LayerGroups, Observer, StepStats, ValStats, layer_groups
from lrtui.engine.events import EpochEnd, TracePoints
from lrtui.engine.model import ConvNet, build_model
from lrtui.engine.records import Diagnostics
from lrtui.engine.step_trace import PROBE_IMAGES
from lrtui.engine.trainer import train

CPU = torch.device("cpu")


def x_batch(n: int = 20) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def set_dead(layer: nn.Linear | nn.Conv2d, dead: int) -> None:
    """Every unit's output is +1 but the first ``dead`` ones' are -1, whatever the input."""
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.fill_(1.0)
        layer.bias[:dead] = -1.0


def observe(model: nn.Module, *batches: torch.Tensor) -> tuple[Observer, dict[str, Any]]:
    """Validation as the trainer runs it: the model's diagnostics over these batches."""
    observer, stats = Observer.for_model(model), ValStats(CPU)
    model.eval()
    with torch.inference_mode(), observer.observing(stats) as forward:
        for x in batches:
            stats.observe(forward(x))
    return observer, stats.result()


class FunctionalMLP(nn.Module):
    """Three layers, ReLU as calls (``F.relu``, ``torch.relu``, ``x.relu()``)."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 32), nn.Linear(32, 16), nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.fc1(x.flatten(1)))
        x = torch.relu(self.fc2(x))
        return self.fc3(x.relu())  # a second ReLU after fc2: no layer of its own to be named for


def test_an_mlp_with_relu_calls_names_each_call_for_its_layer() -> None:
    model = FunctionalMLP()
    set_dead(model.fc1, 4)
    set_dead(model.fc2, 2)
    observer, d = observe(model, x_batch(), x_batch(7))
    assert observer.groups.names == ("fc1", "fc2", "fc3")
    assert d["dead_fraction"] == {"fc1": 4 / 32, "fc2": 2 / 16, "relu@(model)#0": 2 / 16}
    assert "dead_na" not in d


def test_relu_modules_are_named_by_path_and_not_counted_twice() -> None:
    act = nn.ReLU()
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(inplace=True),
        nn.Flatten(),
        nn.Linear(4 * 26 * 26, 8),
        act,
        nn.Linear(8, 8),
        act,
        nn.Linear(8, 10),
    )
    set_dead(model[0], 1)  # a channel (dim 1) is the unit of a conv output
    set_dead(model[3], 3)
    set_dead(model[5], 2)
    observer, d = observe(model, x_batch())
    assert observer.groups.names == ("0", "3", "5", "7")
    # the ReLU module's own F.relu is not a second activation; the module used twice is "4", then "4#1"
    assert d["dead_fraction"] == {"1": 1 / 4, "4": 3 / 8, "4#1": 2 / 8}
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())  # hooks gone


@pytest.mark.parametrize("inplace", [False, True])
def test_a_leaky_relu_unit_is_dead_when_never_positive(inplace: bool) -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 8), nn.LeakyReLU(0.1, inplace=inplace), nn.Linear(8, 10))
    set_dead(model[1], 3)  # outputs -0.1 there: not zero, but never positive
    _, d = observe(model, x_batch())
    assert d["dead_fraction"] == {"2": 3 / 8}


class Smooth(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2, self.fc3 = nn.Linear(784, 8), nn.GELU(), nn.Linear(8, 8), nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(F.silu(self.fc2(self.act(self.fc1(x.flatten(1)))))))


def test_gelu_and_silu_are_na_with_the_reason_and_relus_beside_them_are_measured() -> None:
    _, d = observe(Smooth(), x_batch())
    assert set(d["dead_na"]) == {"act", "fc2"}
    assert "GELU is never exactly zero" in d["dead_na"]["act"] and "silu" in d["dead_na"]["fc2"]
    assert list(d["dead_fraction"]) == ["relu@(model)#0"]


def test_a_network_without_activations_says_none_was_seen() -> None:
    _, d = observe(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), x_batch())
    assert d["dead_fraction"] == {} and list(d["dead_na"]) == [NOTHING_SEEN]


def test_c_classes_uniform_answers_have_entropy_ln_c() -> None:
    model = FunctionalMLP(classes=3)
    with torch.no_grad():
        model.fc3.weight.zero_()
        model.fc3.bias.zero_()
    _, d = observe(model, x_batch())
    assert d["pred_entropy"] == pytest.approx(math.log(3), abs=1e-6)
    assert d["top_class_share"] == 1.0  # every tie goes to class 0


def test_layer_groups_of_a_net_with_norm_layers_and_a_root_parameter() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.full((1,), 2.0))
            self.features = nn.Sequential(nn.Conv2d(1, 4, 3, bias=False), nn.BatchNorm2d(4))
            self.head = nn.Linear(4, 10)

    model = Net()
    groups = layer_groups(model)
    assert groups.names == ("(model)", "features.0", "features.1", "head") and groups.per_layer is None
    params = list(model.parameters())
    want = torch.stack(
        [
            torch.linalg.vector_norm(torch.cat([p.flatten() for p, o in zip(params, groups.owner) if o == i]))
            for i in range(len(groups))
        ]
    )
    got = groups.norms(torch._foreach_norm(params), None)
    torch.testing.assert_close(got, want.unsqueeze(0))
    # stacked: a trailing [K] per norm
    k_norms = [torch.stack([n, 2 * n]) for n in torch._foreach_norm(params)]
    torch.testing.assert_close(groups.norms(k_norms, 2), torch.stack([want, 2 * want], dim=-1).unsqueeze(0))


def test_the_reference_cnn_groups_by_a_view_and_the_index_path_agrees() -> None:
    model = build_model(0)
    groups = layer_groups(model)
    assert groups.names == LAYERS and groups.per_layer == 2
    norms = [*torch._foreach_norm(list(model.parameters()))] * 3
    by_index = layer_groups(model)
    by_index.per_layer = None
    torch.testing.assert_close(groups.norms(norms, None), by_index.norms(norms, None), rtol=1e-6, atol=0)


class Deep(nn.Module):
    """Twelve layers with parameters: ReLU modules, ReLU calls inside a block, batch norm."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU())
        self.blocks = nn.ModuleList(Block() for _ in range(4))
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(32, 32), nn.Linear(32, 32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.b(F.relu(self.a(x))))


DEEP_LAYERS = ("stem.1", "stem.2", *(f"blocks.{i}.{ab}" for i in range(4) for ab in "ab"), "head")
DEEP_RELUS = ("stem.3", *(f"blocks.{i}.{ab}" for i in range(4) for ab in "ab"))


def test_a_deep_network_trains_with_every_layer_measured() -> None:
    rec = Recorder()
    end = train(replace(TINY, epochs=1, lr=0.05, log_every=10), rec, model_factory=Deep)
    assert end.status == "finished", end.error
    d = rec.of(EpochEnd)[0].diagnostics
    assert d is not None and d.update_ratio_max is not None
    assert tuple(d.update_ratio) == tuple(d.update_ratio_max) == DEEP_LAYERS
    assert all(r is not None and 0 < r < 1 for r in d.update_ratio.values())
    assert tuple(d.dead_fraction) == DEEP_RELUS and d.dead_na is None
    points = [p for t in rec.of(TracePoints) for p in t.points]
    assert any(p.update_ratio and tuple(p.update_ratio) == DEEP_LAYERS for p in points)
    assert any(p.dead_fraction and tuple(p.dead_fraction) == DEEP_RELUS for p in points)


def test_the_dead_probe_leaves_batch_norm_statistics_and_the_mode_alone() -> None:
    model = Deep().train()
    tracer = tracing.Tracer("r1", x_batch(PROBE_IMAGES), total_steps=100, every=4)
    before = model.stem[2].running_mean.clone()
    tracer.probe_dead(model, 0)
    assert model.training and torch.equal(model.stem[2].running_mean, before)
    assert [names for _, names, _ in tracer.pending] == [DEEP_RELUS]


def test_hooks_are_removed_when_the_forward_raises() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    with pytest.raises(RuntimeError), torch.no_grad(), Observer.for_model(model).observing(ValStats(CPU)) as forward:
        forward(torch.zeros(2, 5))  # wrong width
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


# -- the reference CNN: the old path (before diagnostics knew any network), kept here as the oracle ----------------
def _old_layer_norms(self: LayerGroups, norms: Any, k: int | None) -> torch.Tensor:
    stacked = torch.stack(list(norms))
    return torch.linalg.vector_norm(stacked.view((-1, 4, 2) + ((k,) if k is not None else ())), dim=2)


def _old_forward_observed(model: ConvNet, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    h1 = F.relu(model.pool(model.conv1(x)), inplace=True)
    h2 = F.relu(model.pool(model.conv2(h1)), inplace=True)
    h3 = F.relu(model.fc1(h2.flatten(1)), inplace=True)
    return model.fc2(h3), {"conv1": h1, "conv2": h2, "fc1": h3}


@contextmanager
def _old_watching(model: ConvNet, units: UnitsFired | None) -> Iterator[Any]:
    def forward(x: torch.Tensor) -> torch.Tensor:
        logits, acts = _old_forward_observed(model, x)
        for name, a in acts.items() if units is not None else ():
            rows = a.permute(0, 2, 3, 1).reshape(-1, a.shape[1]) if a.dim() == 4 else a
            now = rows.sum(0) > 0
            units.fired[name] = now if name not in units.fired else units.fired[name] | now
        return logits

    yield forward


def _tiny_reference_run() -> tuple[list[Diagnostics], list[Any]]:
    rec = Recorder()
    train(replace(TINY, lr=0.3), rec)  # large enough steps that units die
    diags = [e.diagnostics for e in rec.of(EpochEnd)]
    assert all(d is not None for d in diags)
    return [d for d in diags if d is not None], [p for t in rec.of(TracePoints) for p in t.points]


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return isinstance(b, float) and abs(a - b) <= 1e-6
    return bool(a == b)


def test_the_reference_cnn_is_one_case_and_agrees_with_the_old_path(monkeypatch: pytest.MonkeyPatch) -> None:
    new_epochs, new_points = _tiny_reference_run()
    monkeypatch.setattr(LayerGroups, "norms", _old_layer_norms)
    monkeypatch.setattr(diagnostics, "watching", _old_watching)
    monkeypatch.setattr(tracing, "watching", _old_watching)
    old_epochs, old_points = _tiny_reference_run()
    assert all(tuple(d.update_ratio) == LAYERS and tuple(d.dead_fraction) == RELU_LAYERS for d in new_epochs)
    assert max(d.dead_fraction["fc1"] or 0.0 for d in new_epochs) > 0  # something to compare
    assert _close(new_epochs, old_epochs)
    assert len(new_points) == len(old_points) and all(
        _close(a.update_ratio, b.update_ratio) and _close(a.dead_fraction, b.dead_fraction)
        for a, b in zip(new_points, old_points)
    )


def test_step_stats_sum_per_layer_of_any_grouping() -> None:
    model = FunctionalMLP()
    stats = StepStats(CPU, layer_groups(model), every=1)
    params = list(model.parameters())
    grads = [torch.ones_like(p) for p in params]
    stats.add_sgd(params, grads, grads, 0.1)
    got = stats.update_ratio(1)
    for layer in ("fc1", "fc2", "fc3"):
        own = [p for name, p in model.named_parameters() if name.startswith(layer + ".")]
        step = 0.1 * math.sqrt(sum(p.numel() for p in own))
        weight = math.sqrt(sum(float(p.detach().square().sum()) for p in own))
        assert got[layer] == pytest.approx(step / weight, rel=1e-5)


def test_a_record_with_na_activations_reads_back_from_its_session_row() -> None:
    from lrtui.sessions import schema
    from lrtui.sessions.record import RunRecord

    _, d = observe(Smooth(), x_batch())
    record = RunRecord("r1", TINY)
    record.apply(
        EpochEnd("r1", 1, 2.3, 0.1, 2.3, 0.1, 1.0, diagnostics=Diagnostics.of(update_ratio={"fc1": 1e-3}, **d))
    )
    back = schema.run_record(record.to_dict(), "run r1")
    diagnostics = back.epochs[0].diagnostics
    assert diagnostics is not None and diagnostics.dead_na == d["dead_na"]


class Nested(nn.Module):
    """A ReLU call inside a block with no layer before it, and one after an activation module."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(784, 8))
        self.inner = Inner()
        self.act, self.head = nn.Tanh(), nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inner(self.block(x.flatten(1)))
        return self.head(F.relu(self.act(x)))


class Inner(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(F.relu(x), 0.1)  # the first follows block.0; the second has nothing new before it


def test_calls_are_named_for_the_layer_they_follow_else_for_their_caller_stably() -> None:
    model = Nested()
    set_dead(model.block[0], 2)
    _, d = observe(model, x_batch(), x_batch(5))  # two forwards: the same names
    assert d["dead_fraction"] == {"block.0": 2 / 8, "leaky_relu@inner#0": 2 / 8, "relu@(model)#0": 2 / 8}
    assert list(d["dead_na"]) == ["act"] and "Tanh" in d["dead_na"]["act"]
