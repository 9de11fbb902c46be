"""Desktop integration: plugin class, menus, dependency check, translations."""
