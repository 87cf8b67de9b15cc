"""The parameters pane: one row per setting, validated live by the engine's own ``parse_configs``.

Values stay text until a run starts, so the form can show exactly what the user
typed next to the engine's message about it. Settings that the form has no
field for (``data_dir``, ``val_fraction``, ``log_every`` from the command line)
ride along unchanged. So do ``model`` and ``data`` (``--model``/``--data FILE.py:FUNC``): shown, never
typed in, and the only factory files the app loads (a session's own are never loaded, see :meth:`ParamsForm.loads`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from lrtui.engine.config import (
    DATASETS,
    OPTIMIZERS,
    ConfigError,
    RunConfig,
    parse_configs,
    resolve_device,
)
from lrtui.engine.user_code import one_line, shown
from lrtui.plots.formatting import count
from lrtui.printable import printable


@dataclass(frozen=True)
class Field:
    """One row of the form: the RunConfig field it sets, its label, and its choices (a Select) if any."""

    name: str
    label: str
    choices: tuple[str, ...] = ()
    placeholder: str = ""


FIELDS: tuple[Field, ...] = (
    Field("lr", "lr", placeholder="0.01 or 0.5, 0.01, 1e-4"),
    Field("optimizer", "optimizer", OPTIMIZERS),
    Field("momentum", "momentum", placeholder="auto"),
    Field("weight_decay", "weight decay"),
    Field("schedule", "schedule", placeholder="constant"),
    Field("warmup", "warmup"),
    Field("epochs", "epochs"),
    Field("batch_size", "batch size"),
    Field("dataset", "dataset", DATASETS),
    Field("device", "device", ("auto", "cpu")),
    Field("seed", "seed"),
    Field("train_limit", "subset", placeholder="all"),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)
#: Settings given on the command line only, shown read-only above the fields: loading them runs their code.
FACTORIES: tuple[tuple[str, str], ...] = (("model", "model"), ("data", "data"))
#: What a field shows as its placeholder is also accepted typed in: it means "leave it to the default".
DEFAULT_WORDS: dict[str, str] = {"momentum": "auto", "train_limit": "all", "log_every": "auto"}
MAX_LENGTH = 64  #: characters a field takes: a paste of 100k characters must neither freeze nor balloon the app
MAX_LENGTH_LR = 256  #: the lr field takes comma lists
_FIELD = {f.name: f for f in FIELDS}


def default_values() -> dict[str, str]:
    """The form as it opens: RunConfig's defaults, with momentum and subset left to "auto"/"all"."""
    config = RunConfig()
    values = {name: "" if getattr(config, name) is None else str(getattr(config, name)) for name in FIELD_NAMES}
    values["momentum"] = ""
    return values


def check_factories(config: RunConfig) -> tuple[RunConfig | None, str]:
    """Build the run's --model network and try one batch of its data through it, as a run will (call it off the
    UI thread: it imports torch and runs the user's code): the config with the network's name, size and classes,
    or why it does not fit in one line."""
    from lrtui.engine.model_factory import checked

    try:
        return checked([config])[0], ""
    except ConfigError as e:
        return None, "; ".join(e.errors.values())
    except Exception as e:  # noqa: BLE001 - the user's code may raise anything: one line, the app goes on
        return None, one_line(e)


class ParamsForm(VerticalScroll):
    """Inputs and Selects for a run's settings, each with an inline error line under it."""

    @dataclass
    class Submitted(Message):
        """Enter was pressed in a text field: the user wants to train with the form's values."""

        form: ParamsForm

    def __init__(self, initial: Mapping[str, object] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        given = {k: "" if v is None else str(v) for k, v in (initial or {}).items()}
        self._start = default_values() | {k: v for k, v in given.items() if k in FIELD_NAMES}
        #: settings without a field (data_dir, val_fraction, log_every, unknown keys to report)
        self.extra = {k: v for k, v in given.items() if k not in FIELD_NAMES}
        self.devices: tuple[str, ...] | None = None  #: None until torch has been asked (in a worker)
        self.errors: dict[str, str] = {}
        self._shown_once = False  #: show_errors has drawn ``errors`` at least once

    def compose(self) -> ComposeResult:
        for name, label in FACTORIES:
            spec = self.extra.get(name, "").strip()
            if spec:  # what the user passed, as text (never markup); the network's name and size come with its runs
                with Horizontal(classes="field factory", id=f"row-{name}"):
                    yield Label(label, classes="field-label")
                    yield Static(
                        Text(printable(spec[:MAX_LENGTH_LR], newlines=False) + " (from the command line)"),
                        id=f"f-{name}",
                        classes="factory-value",
                    )
        for field in FIELDS:
            with Horizontal(classes="field", id=f"row-{field.name}"):
                yield Label(field.label, classes="field-label")
                value = self._start[field.name].strip().lower() if field.choices else self._start[field.name]
                if field.choices:
                    choices = field.choices if value in field.choices else (*field.choices, value[:MAX_LENGTH])
                    # a value from the command line may hold anything: shown as text, never markup
                    yield Select(
                        [(Text(c), c) for c in choices],
                        value=value if value in field.choices else value[:MAX_LENGTH],
                        allow_blank=False,
                        compact=True,
                        id=f"f-{field.name}",
                        disabled=field.name == "dataset" and self._own_data,
                    )
                else:
                    limit = MAX_LENGTH_LR if field.name == "lr" else MAX_LENGTH
                    yield Input(
                        value[:limit],
                        placeholder=field.placeholder,
                        compact=True,
                        max_length=limit,
                        id=f"f-{field.name}",
                    )
            yield Static("", classes="field-error", id=f"e-{field.name}", markup=False)
        yield Static("", classes="field-error", id="e-other", markup=False)

    def on_mount(self) -> None:
        self.check()

    def field(self, name: str) -> Input | Select[str]:
        """The Input or Select of a setting."""
        return self.query_one(f"#f-{name}", Select if _FIELD[name].choices else Input)  # type: ignore[return-value]

    def values(self) -> dict[str, str]:
        """Every setting as text, the form's fields plus the ones passed through.

        A placeholder word typed in (``auto`` momentum, ``all`` for the subset) means the default,
        which the engine spells as an empty value.
        """
        values = {**self.extra, **{name: str(self.field(name).value) for name in FIELD_NAMES}}
        if self._own_data:
            del values["dataset"]  # --data takes its place
        for name, word in DEFAULT_WORDS.items():
            if name in values and values[name].strip().lower() == word:
                values[name] = ""
        return values

    @property
    def _own_data(self) -> bool:
        return bool(self.extra.get("data", "").strip())

    def loads(self, config: RunConfig) -> bool:
        """Whether training ``config`` loads only the factory files given on this command line: a saved run's
        ``model``/``data`` name files whose code would run, so the app never loads them on a session's word."""
        return all(
            getattr(config, name) == self.extra.get(name, "").strip() or not getattr(config, name)
            for name, _ in FACTORIES
        )

    @property
    def factories(self) -> bool:
        """Whether the command line gave a network or data of the user's own (``--model``/``--data``)."""
        return any(self.extra.get(name, "").strip() for name, _ in FACTORIES)

    def show_model(self, config: RunConfig | None, error: str = "") -> None:
        """What checking the factories found (see the main screen's ``_check_model``): the network's name and size
        beside ``--model``, the data's classes beside ``--data``; or why the network does not fit, in red."""
        for name, _ in FACTORIES:
            spec = self.extra.get(name, "").strip()
            if not spec:
                continue
            file = printable(shown(spec)[:MAX_LENGTH_LR], newlines=False)
            text = Text(printable(spec[:MAX_LENGTH_LR], newlines=False) + " (from the command line)")
            if error:  # said once: beside the network when there is one
                if name == "model" or not self.extra.get("model", "").strip():
                    text.append(" · " + printable(error, newlines=False), style="red")
            elif config is not None:  # what was found first (the field is narrow), then the file; names from user code
                found = (
                    f"{config.model_name.rpartition('→ ')[2]} · {count(config.model_params)} params"
                    if name == "model"
                    else f"{config.classes} classes"
                )  # a line each, cut with … where the form is narrow
                text = Text.assemble((printable(found, newlines=False), "bold"), "\n", file)
            self.query_one(f"#f-{name}", Static).update(text)

    def set_value(self, name: str, value: str) -> None:
        """Put a value into a field (the rerun keys and the LR finder write the lr field)."""
        self.field(name).value = value
        self.check()

    def set_devices(self, devices: tuple[str, ...], names: Mapping[str, str]) -> None:
        """Offer the devices torch found, named (``cuda:0 · NVIDIA H200``), keeping the current choice."""
        self.devices = devices
        select = self.query_one("#f-device", Select)
        current = str(select.value)
        options = ["auto", *devices]
        if current not in options:
            options.append(current)
        select.set_options([(f"{d} · {names[d]}" if d in names else d, d) for d in options])
        select.value = current
        self.check()

    def configs(self) -> list[RunConfig]:
        """One config per cell of the form's grid (every combination of its comma lists). Raises ConfigError (and marks the fields)."""
        try:
            configs = parse_configs(self.values(), devices=self._devices_for_validation())
        except ConfigError as e:
            self.show_errors(e.errors)
            raise
        self.show_errors({})
        return configs

    def check(self) -> bool:
        """Check the form now and mark what is wrong; True when a run could start."""
        try:
            self.configs()
        except ConfigError:
            return False
        return True

    def _devices_for_validation(self) -> tuple[str, ...]:
        """Before torch has answered, accept the chosen device: the run reports it if it is missing."""
        if self.devices is not None:
            return self.devices
        chosen = str(self.field("device").value)
        return ("cpu",) if chosen in ("auto", "cpu") else ("cpu", resolve_device(chosen, ()))  # cuda → cuda:0

    def show_errors(self, errors: Mapping[str, str]) -> None:
        """Mark each invalid field and write why under it; errors of hidden settings go to the last line.

        Unchanged errors are left alone: a Static's update re-lays out the whole screen, which
        takes the GIL from the training thread for tens of milliseconds (measured).
        """
        if dict(errors) == self.errors and self.is_mounted and self._shown_once:
            return
        self._shown_once = True
        self.errors = dict(errors)
        for field in FIELDS:
            message = errors.get(field.name, "")
            self.query_one(f"#row-{field.name}").set_class(bool(message), "invalid")
            self.query_one(f"#e-{field.name}", Static).update(Text(message))
            self.query_one(f"#e-{field.name}").set_class(bool(message), "shown")
        other = "; ".join(f"{k}: {v}" for k, v in errors.items() if k not in FIELD_NAMES)
        self.query_one("#e-other", Static).update(Text(other))
        self.query_one("#e-other").set_class(bool(other), "shown")

    def first_invalid(self) -> Input | Select[str] | None:
        """The first field with an error, to put the cursor on it."""
        return next((self.field(name) for name in FIELD_NAMES if name in self.errors), None)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.check()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.check()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(self))
