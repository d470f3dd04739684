"""Common Ground: a governed data exchange for joined-up government."""
