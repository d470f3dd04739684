"""Bodies of ``commonground`` sub-commands that are more than a few lines."""
