"""Join a recap to the villages: by Kemendagri code, else by name within the kecamatan.

Order of matching for a recap row:

1. ``confirm`` — the user said which village a row (by row number or by name) is.
2. Its Kemendagri code (a code not in the boundaries is an error naming the row).
3. Rows without a code: the normalised name within the (normalised) kecamatan. Normalising
   drops case, accents, punctuation, extra spaces and the "Desa"/"Kel."/"Kelurahan" prefixes.
4. Known old spellings (``OLD_SPELLINGS``), applied to village and kecamatan names.
5. A similarity match (``difflib`` ratio of the normalised names ≥ ``SIMILARITY_THRESHOLD``)
   is NEVER applied silently: the import fails listing each suggestion with the command-line
   flag that confirms it (``--confirm ROW=CODE``), and the upload form shows tick boxes.
   A row whose kecamatan is unknown is matched regency-wide, and then only as a suggestion.

Anything else is an unknown village: an error naming the row.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

from .errors import ImportProblem
from .recap import RecapTable, normalise_code

# Spellings found in older recaps and documents (left) and the Kemendagri spelling the
# boundaries use (right). Compared after ``norm_name``. Add lines as you meet them.
OLD_SPELLINGS: dict[str, str] = {
    "Pemalian": "Pamalian",
    "Perenggean": "Parenggean",
    "Bengkuang Makmur": "Bangkuang Makmur",
    "Tumbang Ramai": "Tumbang Ramei",
    "Tumbang Sepanyang": "Tumbang Sepayang",
    "Bakti Karya": "Bhakti Karya",
    "Tumbang Penyahuan": "Tumbang Panyahuan",
    "Tewei Hara": "Tewai Hara",
    "Subungsu": "Sebungsu",
    "Luwuk Kuwan": "Luwuk Kowan",
}
# difflib.SequenceMatcher ratio on normalised names. 0.80 catches one or two wrong letters in
# a typical two-word name ("Tumbang Penyahuwan" vs "Tumbang Panyahuan": 0.91). Different
# villages of one kecamatan can be as similar ("Rantau Suang" vs "Rantau Sawang": 0.88,
# "Kota Besi Hulu" vs "Kota Besi Hilir": 0.83), which is why a similarity match is only ever a
# suggestion for the user to confirm, and a close runner-up is named in the message too.
SIMILARITY_THRESHOLD = 0.80

_PREFIX_RE = re.compile(r"^(desa|ds|kelurahan|kel|kampung|kec|kecamatan)\b\s*")


def norm_name(text) -> str:
    """Lower case, no accents, no punctuation, single spaces, no "Desa"/"Kel." prefix."""
    s = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode().lower()
    s = " ".join(re.sub(r"[^a-z0-9]+", " ", s).split())
    prev = None
    while prev != s:
        prev, s = s, _PREFIX_RE.sub("", s).strip()
    return s


_OLD = {norm_name(k): norm_name(v) for k, v in OLD_SPELLINGS.items()}


def modern(name_norm: str) -> str:
    return _OLD.get(name_norm, name_norm)


@dataclass
class JoinResult:
    """``frame``: one row per recap village with ``code`` (the village's code), ``population``,
    ``obliged``, ``recorded``, ``row``, ``name`` (as in the recap), ``village_name``, ``how``
    (code | name | old_spelling | confirmed) and ``access``/``no_signal`` when the recap has them.
    ``unmatched_villages``: codes of villages the recap does not mention."""

    frame: pd.DataFrame
    unmatched_villages: list[str] = field(default_factory=list)

    def counts(self) -> dict:
        return {k: int(v) for k, v in self.frame["how"].value_counts().items()}


def _confirm_lookup(confirm: dict[str, str] | None) -> dict[str, str]:
    out = {}
    for k, v in (confirm or {}).items():
        key = str(k).strip()
        out[key] = normalise_code(v) or str(v).strip()
        out["name:" + norm_name(key)] = out[key]
    return out


def _scored(query: str, candidates: dict[str, list[str]]) -> list[tuple[float, str, str]]:
    """(ratio, name, code) of the candidates at least half similar to ``query``, best first.
    The cheap upper bounds (``real_quick_ratio``, ``quick_ratio``) skip most names before the
    costly ``ratio``: a recap of another regency (every row unknown) stays fast. Only scores of
    0.5 and more are ever used (suggestions >= SIMILARITY_THRESHOLD, hints >= 0.5)."""
    out = []
    for n, cs in candidates.items():
        sm = difflib.SequenceMatcher(None, query, n)
        if sm.real_quick_ratio() < 0.5 or sm.quick_ratio() < 0.5:
            continue
        ratio = sm.ratio()
        if ratio >= 0.5:
            out.extend((ratio, n, c) for c in cs)
    return sorted(out, reverse=True)


def join_recap(recap: RecapTable, villages: pd.DataFrame, *,
               confirm: dict[str, str] | None = None) -> JoinResult:
    """Match every recap row to a village code. Raises ``ImportProblem`` (with
    ``suggestions``) when a row is unknown or only similar."""
    fname = recap.filename
    hdr = recap.headers
    by_code = {str(c): r for c, r in zip(villages["code"], villages.to_dict("records"), strict=True)}
    # kecamatan -> {name -> [codes]}
    kec_names: dict[str, dict[str, list[str]]] = {}
    all_names: dict[str, list[str]] = {}
    for code, name, kec in zip(villages["code"], villages["name"], villages["kecamatan"], strict=True):
        kec_names.setdefault(modern(norm_name(kec)), {}).setdefault(norm_name(name), []).append(str(code))
        all_names.setdefault(norm_name(name), []).append(str(code))
    conf = _confirm_lookup(confirm)

    problems: list[ImportProblem] = []
    suggestions: list[dict] = []
    out = []
    used: dict[str, int] = {}
    for rec in recap.frame.to_dict("records"):
        row = int(rec["row"])
        name = rec["name"]
        code = None
        how = None
        confirmed = conf.get(str(row)) or conf.get("name:" + norm_name(name))
        if confirmed:
            if confirmed not in by_code:
                problems.append(ImportProblem(
                    f"konfirmasi {row}={confirmed}: kode {confirmed} tidak ada di data batas desa",
                    file=fname, row=row, column=hdr.get("code") or hdr.get("name")))
                continue
            code, how = confirmed, "confirmed"
        elif rec.get("code"):
            code = str(rec["code"])
            if code not in by_code:
                problems.append(ImportProblem(
                    f'kode {code} ("{name}") tidak ada di data batas desa; periksa kodenya atau '
                    "impor batas desa yang memuatnya", file=fname, row=row, column=hdr.get("code")))
                continue
            how = "code"
        else:
            kec_key = modern(norm_name(rec.get("kecamatan") or ""))
            pool = kec_names.get(kec_key)
            nkey = norm_name(name)
            if pool is not None:
                if nkey in pool and len(pool[nkey]) == 1:
                    code, how = pool[nkey][0], "name"
                elif modern(nkey) in pool and len(pool[modern(nkey)]) == 1:
                    code, how = pool[modern(nkey)][0], "old_spelling"
                elif nkey in pool or modern(nkey) in pool:
                    problems.append(ImportProblem(
                        f'nama "{name}" dipakai lebih dari satu desa di kecamatan '
                        f'"{rec.get("kecamatan")}"; tambahkan kolom KODE',
                        file=fname, row=row, column=hdr.get("name")))
                    continue
            if code is None:
                candidates = pool if pool is not None else all_names
                where = (f'di kecamatan "{rec.get("kecamatan")}"' if pool is not None else
                         f'(kecamatan "{rec.get("kecamatan")}" tidak dikenal)')
                scored = _scored(modern(nkey), candidates)
                best = scored[0] if scored else None
                exact_elsewhere = pool is None and best is not None and best[0] == 1.0
                if best is not None and (best[0] >= SIMILARITY_THRESHOLD or exact_elsewhere):
                    ratio, _n, cand = best
                    v = by_code[cand]
                    s = {"row": row, "name": name, "kecamatan": rec.get("kecamatan"),
                         "code": cand, "candidate_name": v["name"],
                         "candidate_kecamatan": v["kecamatan"], "ratio": round(ratio, 3)}
                    suggestions.append(s)
                    runner = ""
                    if len(scored) > 1 and scored[1][0] >= SIMILARITY_THRESHOLD:
                        alt = by_code[scored[1][2]]
                        runner = (f" atau '{alt['name']}' (kode {scored[1][2]}, kemiripan "
                                  f"{scored[1][0]:.2f})")
                    problems.append(ImportProblem(
                        f"'{name}' {where} tidak persis ada di data batas desa → mungkin "
                        f"'{v['name']}' (kecamatan {v['kecamatan']}, kode {cand}, kemiripan "
                        f"{ratio:.2f}){runner}? konfirmasi dengan --confirm {row}={cand}",
                        file=fname, row=row, column=hdr.get("name"), suggestions=[s]))
                    continue
                hint = ""
                if best is not None and best[0] >= 0.5:
                    hint = f"; yang paling mirip: '{by_code[best[2]]['name']}' (kode {best[2]})"
                problems.append(ImportProblem(
                    f"desa '{name}' {where} tidak ditemukan di data batas desa{hint}; tambahkan "
                    "kolom KODE atau perbaiki nama", file=fname, row=row, column=hdr.get("name")))
                continue
        if code in used:
            problems.append(ImportProblem(
                f"baris ini dan baris {used[code]} sama-sama menunjuk desa "
                f"{by_code[code]['name']} (kode {code})", file=fname, row=row,
                column=hdr.get("code") if how == "code" else hdr.get("name")))
            continue
        used[code] = row
        item = {"code": code, "population": rec["population"], "obliged": rec["obliged"],
                "recorded": rec["recorded"], "row": row, "name": name,
                "village_name": by_code[code]["name"], "how": how}
        for opt in ("access", "no_signal"):
            if opt in recap.frame.columns:
                item[opt] = rec.get(opt)
        out.append(item)

    if problems:
        # hard errors first, then the suggestions waiting for confirmation
        problems.sort(key=lambda p: (bool(p.suggestions), p.row or 0))
        err = ImportProblem.collect(problems)
        err.suggestions = suggestions
        raise err
    cols = ["code", "population", "obliged", "recorded", "row", "name", "village_name", "how"]
    cols += [c for c in ("access", "no_signal") if c in recap.frame.columns]
    frame = pd.DataFrame(out, columns=cols)
    unmatched = sorted(set(by_code) - set(frame["code"]))
    return JoinResult(frame=frame, unmatched_villages=unmatched)
