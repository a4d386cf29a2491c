"""Rescue teams: registration, categories, status lifecycle, leadership filings (备案)."""
