"""The registry of data-access presets: one line per preset.

Config validates each preset's settings from here, `init` asks each preset's
`detect()`, the engine runs their project pre-passes, and the per-file
checker asks `active()` for the presets of a run; nothing else names a preset.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List

from .base import ModulePart, Preset
from .dbservice import DbServicePreset
from .django import DjangoPreset
from .sql import SqlPreset
from .sqlalchemy import SqlAlchemyPreset
from .supabase import SupabasePreset

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Config

REGISTRY: Dict[str, Preset] = {}


def register(preset: Preset) -> Preset:
    """Add a preset (a test may register one of its own, then `unregister` it)."""
    if not preset.name:
        raise ValueError("a preset needs a name")
    REGISTRY[preset.name] = preset
    return preset


def unregister(name: str) -> None:
    REGISTRY.pop(name, None)


def active(config: "Config") -> List[Preset]:
    """The presets a run uses: those named in `db.presets`, in that order, and
    any a setting implies (custom `db.methods` ride on the dbservice preset)."""
    chosen = [REGISTRY[name] for name in config.presets if name in REGISTRY]
    chosen += [p for name, p in REGISTRY.items()
               if name not in config.presets and p.implied(config)]
    return chosen


register(DbServicePreset())
register(SupabasePreset())
register(SqlPreset())
register(SqlAlchemyPreset())
register(DjangoPreset())

__all__ = ["ModulePart", "Preset", "REGISTRY", "active", "register", "unregister"]
