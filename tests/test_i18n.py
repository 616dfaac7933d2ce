"""Every UI string is Indonesian first and has an English translation.

Extraction uses the same configuration as ``make translations`` (babel.cfg); the committed
``.mo`` must match the ``.po`` (so nobody forgets ``pybabel compile``).
"""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "planner" / "translations"
METHOD_MAP = [("planner/**.py", "python"), ("planner/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def extracted_ids() -> set[str]:
    ids = set()
    for _fn, _ln, message, _comments, _ctx in extract_from_dir(
        str(ROOT), method_map=METHOD_MAP, keywords=KEYWORDS,
        options_map={"planner/templates/**.html": {"extensions": "jinja2.ext.do"}},
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_ui_string_has_an_english_translation():
    with open(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    missing = sorted(i for i in extracted_ids() if not (catalog.get(i) and catalog.get(i).string
                                                          and not catalog.get(i).fuzzy))
    assert not missing, f"{len(missing)} strings lack an English translation: {missing[:20]}"


def test_compiled_catalogue_matches_po():
    with open(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po", "rb") as f:
        po = read_po(f)
    with open(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo", "rb") as f:
        mo = read_mo(f)
    po_map = {m.id: m.string for m in po if m.id and m.string and not m.fuzzy}
    mo_map = {m.id: m.string for m in mo if m.id}
    assert po_map == mo_map, "run `make translations` (pybabel compile)"


def test_english_locale_switch(client):
    r = client.get("/?lang=en")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'lang="en"' in html
    r = client.get("/")  # the choice sticks (session)
    assert 'lang="en"' in r.get_data(as_text=True)
    r = client.get("/?lang=id")
    assert 'lang="id"' in r.get_data(as_text=True)
