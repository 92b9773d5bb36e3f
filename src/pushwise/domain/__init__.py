"""Pure domain logic: no I/O, no framework imports, nothing from the other rooms."""
