"""``planner plan``: solve a plan on the current dataset from the terminal.

    planner plan --teams 6 --days 10 --start 2026-12-01 --nights 3 --time-limit 30 \\
        --seed 1 --out plan.json [--export-instance instance.json] [--save]

Teams: ``--teams N`` (Tim 1..N, ``--mode`` and ``--kits`` for all) or one ``--team
"Name:mode:kits[:nights]"`` per team. The base defaults to the dataset's saved base
(``repository.default_base()``); ``--base LAT,LON`` overrides it. Progress (elapsed, people
planned) goes to stderr, the summary to stdout. ``--save`` stores the plan (params + result) as a
new plan in the database.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from .plans import bp


def _parse_team(spec: str, nights: int, kits_default: int) -> dict:
    parts = [p.strip() for p in spec.split(":")]
    if not parts[0]:
        raise click.BadParameter(f"Tim tanpa nama: {spec!r} (format Nama:moda:alat[:malam])")
    mode = parts[1] if len(parts) > 1 and parts[1] else "road"
    if mode not in ("road", "river", "both"):
        raise click.BadParameter(f"Moda tim {parts[0]!r} harus road, river atau both.")
    try:
        kits = int(parts[2]) if len(parts) > 2 and parts[2] else kits_default
        n = int(parts[3]) if len(parts) > 3 and parts[3] else nights
    except ValueError as exc:
        raise click.BadParameter(f"Angka tidak sah di {spec!r}.") from exc
    if kits < 1 or n < 0:
        raise click.BadParameter(f"Alat minimal 1 dan malam tidak negatif: {spec!r}.")
    return {"name": parts[0], "mode": mode, "kits": kits, "max_nights": n}


def _parse_base(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError as exc:
        raise click.BadParameter("Basis harus LAT,LON, mis. -2.5336,112.9497") from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise click.BadParameter("Koordinat basis di luar jangkauan.")
    return lat, lon


def _n(x: float, digits: int = 0) -> str:
    """Indonesian number format: 12.345 and 28,6."""
    text = f"{x:,.{digits}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _next_monday() -> dt.date:
    d = dt.date.today() + dt.timedelta(days=1)
    while d.weekday() != 0:
        d += dt.timedelta(days=1)
    return d


@bp.cli.command("plan")
@click.option("--teams", "n_teams", type=click.IntRange(1, 200), default=None,
              help="Jumlah tim (Tim 1..N).")
@click.option("--team", "team_specs", multiple=True,
              help='Satu tim: "Nama:moda:alat[:malam]", moda road|river|both. Boleh diulang.')
@click.option("--mode", type=click.Choice(["road", "river", "both"]), default="road",
              show_default=True, help="Moda untuk --teams.")
@click.option("--kits", type=click.IntRange(1, 20), default=3, show_default=True,
              help="Alat rekam per tim.")
@click.option("--days", type=click.IntRange(1, 366), default=10, show_default=True,
              help="Jumlah hari kerja.")
@click.option("--start", "start", default=None, help="Tanggal mulai YYYY-MM-DD (default: Senin depan).")
@click.option("--base", "base", default=None, help="Basis LAT,LON (default: basis tersimpan).")
@click.option("--nights", type=click.IntRange(0, 30), default=0, show_default=True,
              help="Malam berturut-turut di luar basis (0 = pulang tiap hari).")
@click.option("--below", type=float, default=None, help="Hanya desa dengan tingkat rekam di bawah ini (0–1).")
@click.option("--min-unrecorded", type=click.IntRange(0), default=0, show_default=True)
@click.option("--turnout", type=float, default=0.6, show_default=True)
@click.option("--work-start", default="08:00", show_default=True)
@click.option("--work-end", default="16:00", show_default=True)
@click.option("--holiday", "holidays", multiple=True, help="Hari libur YYYY-MM-DD (boleh diulang).")
@click.option("--must-visit", "must_visit", multiple=True, help="Kode desa yang wajib dikunjungi.")
@click.option("--exclude", "exclude", multiple=True, help="Kode desa yang dikecualikan.")
@click.option("--time-limit", type=click.FloatRange(0.5, 3600), default=30, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--workers", type=click.IntRange(1, 8), default=2, show_default=True)
@click.option("--solution-limit", type=click.IntRange(1), default=None,
              help="Berhenti setelah N solusi (hasil identik untuk seed yang sama).")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Tulis Plan JSON ke berkas ini.")
@click.option("--export-instance", "export_instance", type=click.Path(dir_okay=False, writable=True),
              default=None, help="Tulis semua yang dilihat solver (lokasi, nilai, matriks, tim, kalender).")
@click.option("--save", is_flag=True, help="Simpan rencana ke basis data.")
@click.option("--name", "plan_name", default=None, help="Nama rencana (untuk --save).")
@click.option("--quiet", is_flag=True, help="Tanpa baris kemajuan.")
def plan_command(n_teams, team_specs, mode, kits, days, start, base, nights, below, min_unrecorded,
                 turnout, work_start, work_end, holidays, must_visit, exclude, time_limit, seed,
                 workers, solution_limit, out, export_instance, save, plan_name, quiet):
    """Susun rencana jemput bola (tim × hari) dengan OR-Tools pada data terkini."""
    from planner import repository
    from planner.engine import (
        PlanInputError,
        PlanRequest,
        TeamSpec,
        build_instance,
        solve,
        validate_plan,
    )

    if not n_teams and not team_specs:
        raise click.UsageError("Sebutkan --teams N atau satu/lebih --team.")
    try:
        start_date = dt.date.fromisoformat(start) if start else _next_monday()
    except ValueError as exc:
        raise click.BadParameter(f"Tanggal tidak sah: {start!r} (YYYY-MM-DD)") from exc
    try:
        hol = tuple(dt.date.fromisoformat(h) for h in holidays)
    except ValueError as exc:
        raise click.BadParameter("Hari libur harus YYYY-MM-DD.") from exc
    if below is not None and not 0 < below <= 1.5:
        raise click.BadParameter("--below harus di antara 0 dan 1.5 (mis. 0.95).")

    ds = repository.current_dataset()
    if ds is None:
        raise click.ClickException("Belum ada data. Impor rekap/batas desa dulu (planner import ...).")
    if base:
        lat, lon = _parse_base(base)
        base_name = "Basis"
    else:
        b = repository.default_base()
        if b is None:
            raise click.ClickException("Tidak ada basis tersimpan: berikan --base LAT,LON.")
        lat, lon, base_name = b.lat, b.lon, b.name
    specs = [_parse_team(s, nights, kits) for s in team_specs]
    if n_teams:
        specs += [{"name": f"Tim {k + 1}", "mode": mode, "kits": kits, "max_nights": nights}
                  for k in range(n_teams)]
    teams = tuple(TeamSpec(name=s["name"], base=(base_name, lat, lon), kits=s["kits"], mode=s["mode"],
                           max_nights=s["max_nights"]) for s in specs)
    request = PlanRequest(teams=teams, start_date=start_date, days=days, work_start=work_start,
                          work_end=work_end, holidays=hol, turnout=turnout, below=below,
                          min_unrecorded=min_unrecorded, must_visit=tuple(must_visit),
                          exclude=tuple(exclude), dataset=ds.name, base_name=base_name)
    frame = repository.villages_frame(ds)
    try:
        instance = build_instance(frame, request)
    except PlanInputError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{len(instance.sites)} lokasi, {len(instance.visits)} kunjungan, "
               f"{len(teams)} tim, {days} hari kerja mulai {start_date.isoformat()}; "
               f"batas waktu {time_limit:g} s.", err=True)
    if export_instance:
        Path(export_instance).write_text(json.dumps(instance.to_dict(), ensure_ascii=False),
                                         encoding="utf-8")
        click.echo(f"Instance ditulis ke {export_instance}", err=True)

    def progress(elapsed, best, n):
        if not quiet:
            click.echo(f"  {_n(elapsed, 1):>6} s  {_n(best):>8} orang terencana", err=True)
            sys.stderr.flush()

    try:
        plan = solve(instance, time_limit=time_limit, seed=seed, progress=progress, workers=workers,
                     solution_limit=solution_limit)
    except PlanInputError as exc:
        raise click.ClickException(str(exc)) from exc
    result = plan.to_dict()
    errors = validate_plan(result, instance.to_dict())
    if out:
        Path(out).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    t = result["totals"]
    n_stops = sum(len(d["stops"]) for tm in result["teams"] for d in tm["days"])
    reasons: dict[str, int] = {}
    for d in result["dropped"]:
        reasons[d["reason"]] = reasons.get(d["reason"], 0) + 1
    click.echo(f"Rencana {result['plan_id']}: {_n(t['people'])} orang di {n_stops} kunjungan; "
               f"{_n(t['km'])} km, {_n(t['travel_hours'], 1)} jam perjalanan, "
               f"Rp {_n(t['cost_rp'])}.")
    for tm in result["teams"]:
        people = sum(d["totals"]["people"] for d in tm["days"])
        nights_away = sum(1 for d in tm["days"] if d["end"].get("code"))
        click.echo(f"  {tm['name']} ({tm['mode']}): {_n(people)} orang, {len(tm['days'])} hari aktif, "
                   f"{nights_away} malam di luar basis")
    if result["dropped"]:
        labels = {"unreachable": "tak terjangkau", "capacity": "waktu tim habis",
                  "not_worth": "tidak sepadan dengan perjalanan"}
        click.echo("Tidak dikunjungi: " + ", ".join(
            f"{v} {labels.get(k, k)}" for k, v in sorted(reasons.items())))
    if errors:
        click.echo("PERINGATAN validasi: " + "; ".join(errors[:5]), err=True)
    if out:
        click.echo(f"Plan JSON ditulis ke {out}")
    if save:
        try:
            from planner import plan_store
        except ImportError:  # pragma: no cover
            raise click.ClickException("Penyimpanan rencana belum tersedia.") from None
        params = dict(result["params"])
        name = plan_name or f"Rencana {start_date.isoformat()} ({len(teams)} tim, {days} hari)"
        p = plan_store.create_plan(name, ds.id, params, commit=False)
        version = plan_store.save_version(p, params, result, commit=True)
        click.echo(f"Disimpan sebagai rencana #{p.id} versi {version.version}.")
    if errors:
        sys.exit(1)
