"""Registries that other distributions (and this one) fill through Python entry points.

Three entry point groups open the agent up: `hermes_station.tools` (each entry point names a
`Tool` or a tuple or list of them), `hermes_station.providers` (a `ProviderPlugin`) and
`hermes_station.platforms` (a `PlatformPlugin`). The built-ins are entry points of this
distribution too, declared in its pyproject.toml like any third party's, so there is no list of
names to edit when one is added; see docs/plugins.md.

A group is read the first time it is asked about, once per process: importing `hermes_agent`
loads no plugin. What an entry point names must import cheaply; a provider or platform keeps
its SDK import inside `create`, so only the one in use pays for it.

A plugin that fails to import, or names something of the wrong kind, is logged at warning
level (naming the entry point) and left out; the process carries on without it. When two
entry points register the same name, the first found on `sys.path` wins and the other is
logged.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint, EntryPoints, entry_points
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

log = logging.getLogger(__name__)


class Named(Protocol):
    """What a registry holds: anything with the name the settings choose it by."""

    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


@functools.cache
def _all_entry_points() -> EntryPoints:
    """Every installed distribution's entry points: one scan of `sys.path` for all groups."""
    return entry_points()


class Registry(Generic[T]):
    """The `kind` objects one entry point group registers, by name, in the order found."""

    def __init__(self, group: str, kind: type[T]) -> None:
        self.group = group
        self.kind = kind
        self._items: dict[str, T] | None = None
        # Reentrant so a plugin that asks a registry while being imported gets what is loaded
        # so far instead of a deadlock.
        self._lock = threading.RLock()

    def names(self) -> tuple[str, ...]:
        return tuple(self._loaded())

    def get(self, name: str) -> T | None:
        return self._loaded().get(name)

    def __getitem__(self, name: str) -> T:
        return self._loaded()[name]

    def __contains__(self, name: object) -> bool:
        return name in self._loaded()

    def __iter__(self) -> Iterator[T]:
        return iter(tuple(self._loaded().values()))

    def _loaded(self) -> dict[str, T]:
        with self._lock:
            if self._items is None:
                self._items = {}
                for point in _all_entry_points().select(group=self.group):
                    for item in self._objects(point):
                        self._add(self._items, item, point)
            return self._items

    def _add(self, items: dict[str, T], item: T, point: EntryPoint) -> None:
        if item.name in items:
            log.warning(
                "%s plugin %r (%s) registers %r again; the first one is kept",
                self.group,
                point.name,
                point.value,
                item.name,
            )
            return
        items[item.name] = item

    def _objects(self, point: EntryPoint) -> list[T]:
        try:
            loaded = point.load()
        except Exception as exc:  # any error of a plugin's import: it must not end the process
            log.warning(
                "%s plugin %r (%s) failed to load and is skipped: %s: %s",
                self.group,
                point.name,
                point.value,
                type(exc).__name__,
                exc,
            )
            return []
        items = list(loaded) if isinstance(loaded, (tuple, list)) else [loaded]
        if not all(isinstance(item, self.kind) for item in items):
            log.warning(
                "%s plugin %r (%s) is skipped: it must name a %s",
                self.group,
                point.name,
                point.value,
                self.kind.__name__,
            )
            return []
        return items


def _ready(section: Any) -> None:
    """A platform whose valid section is all it needs to start."""


@dataclass(frozen=True)
class PlatformPlugin:
    """A chat platform for `hermes gateway`, registered in `hermes_station.platforms`.

    `settings` is the pydantic model of its `gateway.<name>` section of config.yaml (its
    defaults must make a valid section: a platform that is not enabled is not configured).
    `create(section, runner)` builds its `gateway.platforms.base.Adapter` for a
    `gateway.run.GatewayRunner`; `check(section)` raises `ConfigError` when an enabled
    platform cannot start, before anything else does. Who may talk to the agent there: the
    user ids in the section's `allowed_users` (if it has one) and paired people; everyone, if
    `trusted` (the platform proves each sender itself, as the webhook's signatures do).

    The agent core holds the gateway's settings, so it knows platforms by name and section;
    only the gateway builds them.
    """

    name: str
    settings: type[BaseModel]
    create: Callable[[Any, Any], Any]
    check: Callable[[Any], None] = _ready
    trusted: bool = False


PLATFORMS: Registry[PlatformPlugin] = Registry("hermes_station.platforms", PlatformPlugin)


@dataclass(frozen=True)
class StorePlugin:
    """Where every surface records its conversations, registered in `hermes_station.stores`.

    `open(settings)` returns a `hermes_state.ConversationStore` (or raises `StoreError` /
    `OSError` saying why it cannot); each process opens one and shares it. `set_aside(settings)`,
    when given, moves a store that raised a `damaged` StoreError out of the way (returning
    where it went), so a long-running surface can start anew instead of failing every turn.
    `unrecovered(settings, store)` names the copies set aside whose rows were not yet
    recovered into `store`, for /health and `hermes doctor` to point at.
    """

    name: str
    open: Callable[[Any], Any]
    set_aside: Callable[[Any], Any] | None = None
    unrecovered: Callable[[Any, Any], list[str]] | None = None


STORES: Registry[StorePlugin] = Registry("hermes_station.stores", StorePlugin)


def check_names(registry: Registry[Any], names: tuple[str, ...], what: str) -> tuple[str, ...]:
    """`names` when the registry holds them all; else a ValueError listing the known ones."""
    unknown = [name for name in names if name not in registry]
    if unknown:
        # none at all: the built-ins are entry points, so the distribution is not installed
        known = ", ".join(registry.names()) or "none (install hermes-station: pip install -e .)"
        raise ValueError(f"unknown {what} {unknown}; known: {known}")
    return names
