"""One module per implementation compared; ``_registry`` maps the report's names to them."""
