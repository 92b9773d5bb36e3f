"""Network-facing checks that need I/O (name resolution)."""
