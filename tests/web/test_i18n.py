"""Every message the pages show has a Simplified Chinese translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from rescueops.web import i18n

SRC = Path(i18n.__file__).resolve().parents[1]
METHODS = [("**.py", "python"), ("web/templates/**.html", "jinja2")]
OPTIONS = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def test_every_message_is_translated_to_chinese() -> None:
    messages = {message for _, _, message, _, _ in extract_from_dir(str(SRC), METHODS, options_map=OPTIONS)}
    messages = {m if isinstance(m, str) else m[0] for m in messages}
    assert len(messages) > 50
    catalog = i18n.translations("zh_CN")
    untranslated = sorted(m for m in messages if catalog.gettext(m) == m)
    assert untranslated == []


def test_pick_follows_the_locale() -> None:
    token = i18n.current_locale.set("en")
    try:
        assert i18n.pick("赤峰市", "Chifeng") == "Chifeng"
        assert i18n.gettext("Home") == "Home"
    finally:
        i18n.current_locale.reset(token)
    assert i18n.pick("赤峰市", "Chifeng") == "赤峰市"
    assert i18n.gettext("Home") == "首页"
