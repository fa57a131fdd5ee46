"""Names that moved to the part that owns them: the old spelling still works, and warns.

A class that used to forward a name to one of its parts (``driver.halt()`` doing
``driver.gate.halt()``) lists the name once, as ``halt = Moved("gate.halt")``: reading
(or, for a value, writing) ``driver.halt`` resolves the path from the instance, issues a
`DeprecationWarning` naming the new spelling (``driver.gate.halt``), and gives the owner's
attribute itself (a bound method of the owner for a method). One descriptor for every moved
name: no forwarding method per name, nothing on the attributes that did not move (no
``__getattr__`` / ``__setattr__`` on the class). The library's own code uses the new spelling.
"""

from __future__ import annotations

import warnings
from typing import Any, Generic, TypeVar, overload

__all__ = ["Moved"]

T = TypeVar("T")


class Moved(Generic[T]):
    """A deprecated attribute: ``path`` (dotted, from the instance) is where it lives now."""

    __slots__ = ("_parts", "name", "owner", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self._parts = path.split(".")
        self.name = ""
        self.owner = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.owner = owner.__name__

    def _warn(self) -> None:
        lower = self.owner.lower()
        warnings.warn(
            f"{self.owner}.{self.name} is deprecated: use {lower}.{self.path} "
            f"({self.owner} no longer forwards it)",
            DeprecationWarning,
            stacklevel=3,
        )

    def _parent(self, instance: object) -> Any:
        found: Any = instance
        for part in self._parts[:-1]:
            found = getattr(found, part)
        return found

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Moved[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | Moved[T]:
        if instance is None:
            return self
        self._warn()
        value: T = getattr(self._parent(instance), self._parts[-1])
        return value

    def __set__(self, instance: object, value: T) -> None:
        self._warn()
        setattr(self._parent(instance), self._parts[-1], value)
