"""E-licenses: license types, identifiers, holders, rendering and the library."""
