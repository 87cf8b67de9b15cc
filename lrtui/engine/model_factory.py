"""The network of a run: the reference CNN, or what a ``--model FILE.py:FUNC`` factory returns.

``FUNC()`` takes no arguments and returns a ``torch.nn.Module`` classifier: a batch of inputs in,
``(batch, C)`` class scores out, C the number of classes of the data. lrtui seeds torch's
generators around the call, so a seed gives every run of a sweep the same initial weights, and
one batch goes through the network before anything trains (:func:`checked`): a factory that
cannot be loaded, raises, returns no Module, or a network that does not fit the data is one
``model: …`` :class:`~lrtui.engine.config.ConfigError` line.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import replace

import torch
from torch import nn

from lrtui.engine.config import REFERENCE_MODEL, SESSION_ARG, ConfigError, RunConfig, format_lr
from lrtui.engine.data import classes_of, first_inputs
from lrtui.engine.events import Verdict
from lrtui.engine.model import build_model, seeded_model
from lrtui.engine.user_code import call_factory, one_line, shown


def build_network(config: RunConfig, device: torch.device | str = "cpu") -> nn.Module:
    """A freshly initialised network for the run: same seed → same weights, on any device."""
    factory = factory_of(config)
    if factory is None:
        return build_model(config.seed, device)  # the reference CNN, with its channels-last trick
    return seeded_model(factory, config.seed, device)


def factory_of(config: RunConfig) -> Callable[[], nn.Module] | None:
    """The run's own network as a zero-argument factory (the caller seeds it); None: the reference CNN."""
    if not config.model:
        return None
    spec = config.model

    def factory() -> nn.Module:
        network = call_factory(spec, "model")
        if not isinstance(network, nn.Module):
            raise ConfigError({"model": f"{shown(spec)} returned a {type(network).__name__}, not a torch.nn.Module"})
        return network

    return factory


def is_reference(config: RunConfig) -> bool:
    """Whether the run trains the reference CNN (its calibrated bands, stacking and diagnostics apply)."""
    return not config.model


def described(config: RunConfig, network: nn.Module) -> RunConfig:
    """Try one batch of the run's data through ``network`` (in eval mode, nothing learned) and record
    its name, parameter count and the classes in the config. Raises a one-line ConfigError."""
    classes = classes_of(config)
    x = first_inputs(config).to(next(network.parameters(), torch.empty(0)).device)
    what = shown(config.model) if config.model else REFERENCE_MODEL
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            out = network(x)
    except Exception as e:  # noqa: BLE001 — the user's forward may raise anything
        raise ConfigError(
            {"model": f"{what} does not take the data's inputs of shape {tuple(x.shape[1:])} ({one_line(e)})"}
        ) from None
    finally:
        network.train(was_training)
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != x.shape[0]:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ConfigError(
            {
                "model": f"{what} returns {shape} for a batch of {x.shape[0]}: expected "
                f"({x.shape[0]}, {classes}) class scores"
            }
        )
    if out.shape[1] != classes:
        raise ConfigError(
            {
                "model": f"{what} gives {out.shape[1]} outputs per sample but the data have "
                f"{classes} classes (labels 0-{classes - 1})"
            }
        )
    params = sum(p.numel() for p in network.parameters() if p.requires_grad)
    if not params:
        raise ConfigError({"model": f"{what} has no trainable parameters"})
    name = REFERENCE_MODEL if not config.model else f"{config.model.rpartition(':')[2]}() → {type(network).__name__}"
    return replace(config, model_name=name, model_params=params, classes=classes)


def checked(configs: Sequence[RunConfig]) -> list[RunConfig]:
    """Build the network of these runs (one command: one model and one data) on the CPU and try it
    (:func:`described`) before anything is created or saved; the configs with what it recorded."""
    if not configs or not (configs[0].model or configs[0].data):
        return list(configs)
    first = described(configs[0], build_network(configs[0]))
    return [
        replace(c, model_name=first.model_name, model_params=first.model_params, classes=first.classes) for c in configs
    ]


def with_caveat(verdict: Verdict | None, config: RunConfig) -> Verdict | None:
    """A foreign network's verdict says whose calibration it used, and how to find this network's own lr: the
    suggestion of a range test in its session for the same network, data, optimizer and batch first
    (:attr:`~lrtui.engine.config.RunConfig.range_test_lr`, looked up by the front end), else the command
    that runs one and keeps it in the session."""
    if verdict is None or is_reference(config):
        return verdict
    reason = f"{verdict.reason} (the step-size bands are calibrated on the reference CNN, not on {config.model_name})"
    if config.range_test_lr is not None:
        hint = (
            f"the range test in this session suggests lr {format_lr(config.range_test_lr)} for this network "
            f"({config.optimizer}, batch {config.batch_size}); {verdict.hint}"
        )
    else:
        data = f" --data {shlex.quote(config.data)}" if config.data else ""
        hint = (
            f"{verdict.hint}; a range test finds this network's own: lrtui find-lr --model {shlex.quote(config.model)}"
            f"{data} --optimizer {config.optimizer} --batch-size {config.batch_size} {SESSION_ARG}"
        )
    return Verdict(verdict.label, reason, hint)
