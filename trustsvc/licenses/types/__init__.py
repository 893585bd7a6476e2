"""License types (证照类型): the model, the file schema, the loader and record validation.

Each type is one TOML file in the catalogue, ``trustsvc/licenses/catalogue/<key>.toml``
(a data folder of its own; the schema is in ``schema``); adding a type needs no
code. Every file is checked strictly when loaded, and a bad one stops the
service with a ``ConfigurationError`` that names the file and every failing key.

``model`` holds the frozen values the rest of the service uses; ``data``
checks a license record against its type; ``loader`` reads the catalogue.
This package may import ``trustsvc.errors``, ``trustsvc.text``, pydantic and
the identifier, holder and issuer rules; never the database, the web layer or
the services built on it.
"""

from trustsvc.licenses.types.data import (
    EARLIEST_DATE,
    LATEST_YEARS_AHEAD,
    example_data,
    latest_date,
    validate_license_data,
)
from trustsvc.licenses.types.loader import get_type, load_types
from trustsvc.licenses.types.model import (
    HOLDER_KEYS,
    HOLDER_NAME_MAX_LENGTH,
    RESERVED_KEYS,
    VALIDITY_KEYS,
    FieldKind,
    FieldSpec,
    Layout,
    LayoutStyle,
    LicenseData,
    LicenseType,
    Validity,
    ValidityRule,
)

__all__ = [
    "EARLIEST_DATE",
    "HOLDER_KEYS",
    "HOLDER_NAME_MAX_LENGTH",
    "LATEST_YEARS_AHEAD",
    "RESERVED_KEYS",
    "VALIDITY_KEYS",
    "FieldKind",
    "FieldSpec",
    "Layout",
    "LayoutStyle",
    "LicenseData",
    "LicenseType",
    "Validity",
    "ValidityRule",
    "example_data",
    "get_type",
    "latest_date",
    "load_types",
    "validate_license_data",
]
