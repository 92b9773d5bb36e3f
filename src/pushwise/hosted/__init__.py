"""Pages pushwise serves to an app's own users (not its operators): the preference page and
the failure notice's answer page. Each is reached through a signed link, works without
JavaScript, speaks the user's language, and guards its forms against cross-site requests."""
