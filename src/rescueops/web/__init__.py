"""The HTTP shell shared by every domain: templates, static files, translations, errors, page helpers."""
