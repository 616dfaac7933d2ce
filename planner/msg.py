"""Messages from domain modules that the web can show in the user's language.

A :class:`Msg` is a ``str`` holding the Indonesian text (what the CLI prints and logs), and it
remembers its msgid and parameters, so the web can translate it:
``msg.translate(gettext, locale)``. Integer parameters are formatted for the language
(1.046 in Indonesian, 1,046 in English). :func:`join` makes one message of several.
``_`` only marks msgids for extraction (``make translations``) and fills them in.

Plain Python (no Flask).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from . import fmt


def _fill(params: Mapping, locale: str, gettext=None) -> dict:
    out = {}
    for k, v in params.items():
        if isinstance(v, Msg):
            out[k] = v.translate(gettext, locale) if gettext is not None else str(v)
        elif isinstance(v, int) and not isinstance(v, bool):
            out[k] = fmt.integer(v, locale)
        else:
            out[k] = v
    return out


class Msg(str):
    """An Indonesian message that remembers its msgid and parameters."""

    msgid: str
    params: dict

    def __new__(cls, msgid: str, params: Mapping | None = None):
        params = dict(params or {})
        obj = super().__new__(cls, msgid % _fill(params, "id") if params else msgid)
        obj.msgid = msgid
        obj.params = params
        return obj

    def translate(self, gettext: Callable[..., str], locale: str = "id") -> str:
        if not self.params:
            return gettext(self.msgid)
        return gettext(self.msgid, **_fill(self.params, locale, gettext))


class _Joined(Msg):
    def __new__(cls, sep: str, parts: Iterable):
        parts = [p if isinstance(p, Msg) else Msg(str(p)) for p in parts]
        obj = str.__new__(cls, sep.join(str(p) for p in parts))
        obj.msgid, obj.params, obj.sep, obj.parts = str(obj), {}, sep, parts
        return obj

    def translate(self, gettext: Callable[..., str], locale: str = "id") -> str:
        return self.sep.join(p.translate(gettext, locale) for p in self.parts)


def join(sep: str, parts: Iterable) -> Msg:
    """One message of several (each translated on its own)."""
    return _Joined(sep, parts)


def _(msgid: str, **params) -> Msg:
    """Marks an Indonesian msgid and fills it in."""
    return Msg(msgid, params)


def text(message, gettext: Callable[..., str] | None = None, locale: str = "id") -> str:
    """A message in the user's language (plain strings pass through)."""
    if isinstance(message, Msg) and gettext is not None:
        return message.translate(gettext, locale)
    return str(message)
