"""Typed records (frozen dataclasses, enums, dates, tuples) as plain JSON values and back.

The session store keeps the Ask page's call (its turns and the answer on screen) so a reload
shows it again; those are kb.types records. Rather than a hand-written form per record that
would fall behind whenever a record gains a field, the record's own type hints say how to
rebuild it: a field missing from stored data takes its default, an unknown one is ignored.
Pure, and no pickle: stored data can only ever become the type asked for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


class PlainError(ValueError):
    """Stored data that does not fit the record type asked for."""


def to_plain(value: Any) -> Any:
    """`value` as JSON values: records as objects, tuples as lists, dates as ISO text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise PlainError(f"cannot store a {type(value).__name__} as JSON")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_plain(kind: Any, data: Any) -> Any:
    """`data` (from `to_plain`) rebuilt as `kind`, e.g. `from_plain(Answer, stored)`."""
    origin = typing.get_origin(kind)
    if kind is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if data is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return from_plain(option, data)
            except (PlainError, TypeError, ValueError, KeyError):
                continue
        raise PlainError(f"{data!r} is none of {kind}")
    if origin is tuple:
        args = typing.get_args(kind)
        if not isinstance(data, list):
            raise PlainError(f"expected a list for {kind}, got {data!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_plain(args[0], item) for item in data)
        if len(args) != len(data):
            raise PlainError(f"expected {len(args)} items for {kind}, got {len(data)}")
        return tuple(from_plain(a, item) for a, item in zip(args, data, strict=True))
    if origin is list:
        (arg,) = typing.get_args(kind)
        return [from_plain(arg, item) for item in data]
    if origin is dict:
        _, value_type = typing.get_args(kind)
        return {k: from_plain(value_type, v) for k, v in data.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(data, dict):
            raise PlainError(f"expected an object for {kind.__name__}, got {data!r}")
        hints = _hints(kind)
        values = {
            f.name: from_plain(hints[f.name], data[f.name])
            for f in dataclasses.fields(kind)
            if f.init and f.name in data
        }
        try:
            return kind(**values)
        except TypeError as e:  # a field without a default is missing
            raise PlainError(f"cannot rebuild {kind.__name__}: {e}") from e
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    if kind is dt.date:
        return dt.date.fromisoformat(data)
    if kind is float and isinstance(data, (int, float)) and not isinstance(data, bool):
        return float(data)
    if kind in (str, int, bool) and type(data) is kind:
        return data
    raise PlainError(f"{data!r} is not a {kind}")
