"""Messages from the training thread to the UI thread.

The runner's listener never touches widgets: it posts these with ``post_message``
(thread safe, and a no-op once the app is closing) and the app applies them on its
own thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from lrtui.engine.events import Event, Progress
from lrtui.runner import Notice


@dataclass
class RunnerUpdate(Message, bubble=False):
    """One engine event (already in the session) or runner notice. Consecutive progress updates collapse.

    Progress of different runs may collapse too: the runs of a batched sweep advance
    together, and the bar shows them as one.
    """

    item: Event | Notice

    def can_replace(self, message: Message) -> bool:
        """Only throttled progress may be dropped: every log line, epoch and end must arrive."""
        return (
            isinstance(self.item, Progress) and isinstance(message, RunnerUpdate) and isinstance(message.item, Progress)
        )


@dataclass
class DevicesFound(Message, bubble=False):
    """The devices torch can train on, with a human name for each (``cuda:0`` → ``NVIDIA H200``)."""

    devices: tuple[str, ...]
    names: dict[str, str]
