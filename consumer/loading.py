"""Import user code (schemas, transforms) named by `module:attribute` paths."""

from __future__ import annotations

import importlib
from typing import Any

from consumer.errors import ConfigError


def load_object(path: str, field: str) -> Any:
    """The object at `path` (``package.module:name``); `field` names the config field."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{field}: {path!r} is not of the form 'package.module:name'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{field}: cannot import module {module_name!r}: {exc}") from exc
    except SyntaxError as exc:  # the user's code: where, not a traceback of sluice
        where = f"{exc.filename}, line {exc.lineno}"
        raise ConfigError(f"{field}: {where}: {exc.msg}") from exc
    except Exception as exc:  # raised while importing it (--log-level debug: the traceback)
        raise ConfigError(
            f"{field}: importing module {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"{field}: module {module_name!r} has no {attr!r}") from None
    return obj
