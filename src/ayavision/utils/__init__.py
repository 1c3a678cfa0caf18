"""Small helpers shared by every subpackage (file safety, errors)."""
