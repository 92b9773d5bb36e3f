"""Request and response shapes (Pydantic v2), one module per resource."""
