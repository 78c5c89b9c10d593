"""The run configuration room: the YAML schema (`schema`), `key=value` overrides, user-facing errors,
preflight checks beyond the schema, the named search spaces, and the generated config reference."""
