"""The footer: Textual's, rebuilt only when the keys it shows change.

Textual rebuilds its footer on every focus change, and a rebuild lays out the whole screen
(60–100 ms at 200x60 on two shared cores) although the keys this app shows are its own and
rarely change with the focus: ``f``, ``escape`` and ``tab`` each paid for it.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    """A :class:`Footer` that skips the rebuilds that would show the same keys."""

    def __init__(self, *, compact: bool = False, show_command_palette: bool = True) -> None:
        super().__init__(compact=compact, show_command_palette=show_command_palette)
        self._shown: tuple[tuple[object, ...], ...] | None = None  #: the keys of the last rebuild

    @staticmethod
    def keys(screen: Screen) -> tuple[tuple[object, ...], ...]:
        """What the footer would show: each shown binding's key, action, words and whether it is enabled."""
        return tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip)
            for _, binding, enabled, tooltip in screen.active_bindings.values()
            if binding.show
        )

    def bindings_changed(self, screen: Screen) -> None:
        if not (screen.app.app_focus and self.is_attached and screen is self.screen):
            super().bindings_changed(screen)  # nothing is rebuilt now: the next change must not be skipped
            return
        keys = self.keys(screen)
        if keys == self._shown:
            return
        self._shown = keys
        super().bindings_changed(screen)
