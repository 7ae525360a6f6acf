"""Bundled resources: the application icon and the example clip (see README.md here)."""
