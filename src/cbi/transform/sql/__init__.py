"""SQL files of the transform area (package data)."""
