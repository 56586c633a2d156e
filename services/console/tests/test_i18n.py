"""Simplified Chinese is the source language; every message id in the templates and the code
has its English, and the English pages really are English."""


from babel.messages.extract import extract_from_dir

from services.console import i18n


def test_every_message_id_has_an_english_translation():
    found = {msgid for _, _, msgid, _, _ in extract_from_dir(
        str(i18n.HERE), method_map=[("templates/**.html", "jinja2"), ("**.py", "python")],
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}}, keywords={"_": None, "N_": None,
                                                                                        "gettext": None})}
    found = {m if isinstance(m, str) else m[0] for m in found} - {""}
    en = i18n.translations("en")
    missing = sorted(m for m in found if en.gettext(m) == m)
    assert len(found) > 250 and missing == []


def test_chinese_by_default_english_when_chosen():
    assert i18n.pick(None) == "zh" and i18n.pick("fr") == "zh" and i18n.pick("en") == "en"
    assert i18n.translations("zh").gettext("登记纠纷") == "登记纠纷"
    assert i18n.translations("en").gettext("登记纠纷") == "Register a dispute"
