"""Translations: English message ids, Simplified Chinese first (``translations/zh_CN/*.po``).

The .po files are the source; they are compiled in memory at start-up, so there is no build step
and no compiled .mo file to keep in step. A locale may split its messages over several files (one
per domain): they are read in name order and merged, a later file never overriding an earlier one.
"""

from __future__ import annotations

import contextvars
import io
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("zh_CN", "en")
LOCALE_NAMES = {"zh_CN": "中文", "en": "English"}

current_locale: contextvars.ContextVar[str] = contextvars.ContextVar("current_locale", default="zh_CN")


@cache
def translations(locale: str) -> NullTranslations:
    folder = resources.files("rescueops.web").joinpath(f"translations/{locale}")
    sources = sorted((f for f in folder.iterdir() if f.name.endswith(".po")), key=lambda f: f.name) if folder.is_dir() else []
    if not sources:
        return NullTranslations()  # English: the message ids are the text
    catalog = None
    for source in sources:
        with source.open("rb") as handle:
            part = read_po(handle, locale=locale)
        if catalog is None:
            catalog = part
            continue
        for message in part:
            if message.id and message.id not in catalog:
                catalog[message.id] = message
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def gettext(message: str) -> str:
    return translations(current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale.get()).ngettext(singular, plural, n)


def pick(zh: str, en: str) -> str:
    """Choose between a record's Chinese and English name for the current locale."""
    return zh if current_locale.get() == "zh_CN" else en
