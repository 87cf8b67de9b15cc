"""The user's own factories: ``FILE.py:FUNC`` or ``package.module:FUNC``, imported once per process.

Loading a factory runs its module's code. Front ends therefore load only the specs the user
passed (``--model``/``--data``), never one that a session file names. Every fault (no such
file, module or function, an import that raises) is one :class:`~lrtui.engine.config.ConfigError`
line naming the setting, so the CLI prints ``lrtui: error: model: …`` and a run fails with that line.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from lrtui.engine.config import ConfigError

_FILES: dict[str, ModuleType] = {}  #: resolved path → its module, imported once
_LOCK = threading.Lock()


def one_line(error: BaseException) -> str:
    """An exception of the user's code as one line: its type, then its message."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def shown(spec: str) -> str:
    """A spec as messages name it: a file by its name alone (``mlp.py:mlp``), so the cause fits the line."""
    where, _, name = spec.rpartition(":")
    return f"{Path(where).name}:{name}" if where.endswith(".py") else spec


def load_factory(spec: str, setting: str) -> Callable[[], Any]:
    """The function ``spec`` names; ``setting`` (``model``/``data``) starts every error message."""
    where, _, name = spec.rpartition(":")
    try:
        module = _import(where)
    except FileNotFoundError:
        raise ConfigError({setting: f"{where} does not exist"}) from None
    except BaseException as e:  # noqa: BLE001 — a syntax error or a raise in the user's module is one line
        if not isinstance(e, Exception):
            raise
        raise ConfigError({setting: f"{shown(spec)} cannot be loaded ({one_line(e)})"}) from None
    func = getattr(module, name, None)
    if func is None:
        raise ConfigError({setting: f"{Path(where).name if where.endswith('.py') else where} has no {name}"})
    if not callable(func):
        raise ConfigError({setting: f"{shown(spec)} is a {type(func).__name__}, not a function"})
    return func


def call_factory(spec: str, setting: str) -> Any:
    """Load and call the factory; anything it raises is one line naming it."""
    factory = load_factory(spec, setting)
    try:
        return factory()
    except Exception as e:  # noqa: BLE001 — the user's code may raise anything
        raise ConfigError({setting: f"{shown(spec)} raised {one_line(e)}"}) from None


def _import(where: str) -> ModuleType:
    """A ``.py`` file by its path (under a private module name, once), else an importable module."""
    if not where.endswith(".py"):
        return importlib.import_module(where)
    path = Path(where).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(where)
    key = str(path)
    with _LOCK:
        if key not in _FILES:
            name = "lrtui_user_" + hashlib.sha1(key.encode()).hexdigest()[:12]
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"{where} is not a Python module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # dataclasses and pickling look their module up here
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
            _FILES[key] = module
        return _FILES[key]
