"""What a user is sent: templates, locales, variants and item picks. Pure: no I/O."""
