"""The spatialreno exception and warning tree.

::

    SpatialRenoError                      base of everything spatialreno raises
    ├── DataError (ValueError)            an input breaks a data contract
    │   ├── LayerReadError                a file cannot be opened or decoded
    │   ├── CRSError                      missing or unusable coordinate reference system
    │   ├── SchemaError                   missing, duplicated or mistyped columns
    │   └── EncodingError                 text that the chosen encoding cannot hold
    ├── ConfigError (ValueError)          a config file or option is wrong (names the key)
    ├── PackagingError                    packaging cannot meet the limits
    │   └── InfeasiblePackagingError      no plan can satisfy the limits; says what to relax
    ├── EditError (ValueError)            a planner's edit would break a limit or contiguity
    └── ExportError                       an export could not be written
        └── OutputFolderError (ConfigError) an output folder is refused (it would lose a file)

    SpatialRenoWarning (UserWarning)      data issues that do not stop the run

Every message names the file, the row or id, what was expected and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "SpatialRenoError",
    "DataError",
    "LayerReadError",
    "CRSError",
    "SchemaError",
    "EncodingError",
    "ConfigError",
    "PackagingError",
    "InfeasiblePackagingError",
    "EditError",
    "ExportError",
    "OutputFolderError",
    "SpatialRenoWarning",
]


class SpatialRenoError(Exception):
    """Base class of every error spatialreno raises on purpose."""


class DataError(SpatialRenoError, ValueError):
    """An input layer or table breaks a data contract."""


class LayerReadError(DataError):
    """A file cannot be opened, listed or decoded."""


class CRSError(DataError):
    """A layer has no CRS, or one that cannot be used for metric work."""


class SchemaError(DataError):
    """Columns are missing, duplicated after alias mapping, or of the wrong type."""


class EncodingError(DataError):
    """Text cannot be represented in the requested encoding."""


class ConfigError(SpatialRenoError, ValueError):
    """A configuration file or option is invalid; the message names the key."""


class PackagingError(SpatialRenoError):
    """Packaging could not produce a plan that keeps every limit."""


class InfeasiblePackagingError(PackagingError):
    """No plan can satisfy the limits.

    Attributes
    ----------
    violations : pandas.DataFrame or None
        One row per problem: the compound or component, the limit, the value and
        what to relax.
    """

    def __init__(self, message: str, violations=None):
        super().__init__(message)
        self.violations = violations


class EditError(SpatialRenoError, ValueError):
    """A planner's edit would break a limit or a package's contiguity."""


class ExportError(SpatialRenoError):
    """An export bundle could not be written; nothing partial is left behind."""


class OutputFolderError(ExportError, ConfigError):
    """An output folder is refused before any work: it is an input, holds files spatialreno
    did not write, or holds earlier outputs and overwriting was not asked for."""


class SpatialRenoWarning(UserWarning):
    """A data issue that does not stop the run (isolated compounds, repaired rows, ...)."""
