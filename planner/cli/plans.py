"""``planner plan`` and ``planner replan``: the planning pipeline from the terminal.

    planner plan --teams 6 --days 10 --start 2026-12-01 --nights 3 --time-limit 30 \\
        --seed 1 --out plan.json [--export-instance instance.json] [--save]
    planner replan --plan 3 --from 2026-12-03 [--time-limit 30]

Both build a ``plan-params/1`` request (``planner.params``) and run it through
``planner.pipeline`` — the same path as the web form and the re-plan button — so a plan that
fails the validator is never written or stored. Progress goes to stderr, the summary to stdout.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from .common import needs_db


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
    return {"name": parts[0], "mode": mode, "kits": kits, "max_nights": n}


def _parse_base(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError as exc:
        raise click.BadParameter("Basis harus LAT,LON, mis. -2.5336,112.9497") from exc
    return lat, lon


def _date(value: str | None, what: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{what}: tanggal tidak sah {value!r} (YYYY-MM-DD)") from exc


def _progress(quiet: bool, lang: str):
    from .. import fmt

    def report(phase, elapsed, best, n):
        if quiet or phase != "solving" or elapsed is None:
            return
        click.echo(f"  {fmt.decimal(elapsed, lang, 1):>6} s  {fmt.integer(best, lang):>8} "
                   "orang terencana", err=True)
        sys.stderr.flush()

    return report


def _summary(result: dict, lang: str) -> None:
    from .. import fmt, plan_json

    s = plan_json.summary(result)
    click.echo(f"Rencana {result['plan_id']}: {fmt.integer(s['people'], lang)} orang di "
               f"{s['stops']} kunjungan; {fmt.km(s['km'], lang, 0)}, "
               f"{fmt.duration(s['travel_min'], lang)} perjalanan, {fmt.rupiah(s['cost_rp'], lang)}.")
    for n, team in enumerate(plan_json.teams(result), start=1):
        days = plan_json.team_days(result, n)
        people = sum(td.totals["people"] for td in days)
        nights = sum(1 for td in days if td.day["end"].get("code"))
        click.echo(f"  {team['name']} ({team['mode']}): {fmt.integer(people, lang)} orang, "
                   f"{len(days)} hari aktif, {nights} malam di luar basis")
    dropped = result.get("dropped") or []
    if dropped:
        labels = {"unreachable": "tak terjangkau", "capacity": "waktu tim habis",
                  "not_worth": "tidak sepadan dengan perjalanan"}
        counts: dict[str, int] = {}
        for d in dropped:
            key = labels.get(d["reason"], d["reason"]) + (" (sebagian)" if d.get("partial") else "")
            counts[key] = counts.get(key, 0) + 1
        click.echo("Tidak dikunjungi: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


def _write_json(path: str, doc: dict) -> None:
    try:
        Path(path).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"Tidak dapat menulis {path}: {exc.strerror or exc}") from exc


@click.command("plan")
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
@click.option("--pooling-radius", type=float, default=None,
              help="Titik kumpul gabungan: radius dalam km (tanpa opsi ini: tidak).")
@click.option("--travel-matrix", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Matriks perjalanan kantor (CSV from,to,minutes,km).")
@click.option("--osrm", "osrm_url", default=None, help="Server OSRM untuk jalan darat (http://...).")
@click.option("--time-limit", type=click.FloatRange(0.5, 3600), default=30, show_default=True)
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True)
@click.option("--workers", type=click.IntRange(1, 8), default=2, show_default=True)
@click.option("--solution-limit", type=click.IntRange(1), default=None,
              help="Berhenti setelah N solusi (hasil identik untuk seed yang sama).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Tulis Plan JSON ke berkas ini.")
@click.option("--export-instance", "export_instance", type=click.Path(dir_okay=False),
              default=None, help="Tulis semua yang dilihat solver (lokasi, nilai, matriks, tim, kalender).")
@click.option("--save", is_flag=True, help="Simpan rencana ke basis data.")
@click.option("--name", "plan_name", default=None, help="Nama rencana.")
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True,
              help="Format angka pada ringkasan.")
@click.option("--quiet", is_flag=True, help="Tanpa baris kemajuan.")
@needs_db
def plan_command(n_teams, team_specs, mode, kits, days, start, base, nights, below,
                 min_unrecorded, turnout, work_start, work_end, holidays, must_visit, exclude,
                 pooling_radius, travel_matrix, osrm_url, time_limit, seed, workers,
                 solution_limit, out, export_instance, save, plan_name, lang, quiet):
    """Susun rencana jemput bola (tim × hari) dengan OR-Tools pada data terkini."""
    from .. import params as P
    from .. import pipeline, repository

    if not n_teams and not team_specs:
        raise click.UsageError("Sebutkan --teams N atau satu/lebih --team.")
    if travel_matrix and osrm_url:
        raise click.UsageError("Pilih salah satu: --travel-matrix atau --osrm.")
    start_date = _date(start, "--start") or pipeline.next_monday()
    ds = repository.current_dataset()
    if ds is None:
        raise click.ClickException("Belum ada data. Impor rekap/batas desa dulu "
                                   "(planner import-villages, planner import-recap).")
    if base:
        lat, lon = _parse_base(base)
        b = {"name": "Basis", "lat": lat, "lon": lon}
    else:
        saved = repository.default_base()
        if saved is None:
            raise click.ClickException("Tidak ada basis tersimpan: berikan --base LAT,LON.")
        b = {"id": saved.id, "name": saved.name, "lat": saved.lat, "lon": saved.lon}
    specs = [_parse_team(s, nights, kits) for s in team_specs]
    if n_teams:
        specs += [{"name": f"Tim {k + 1}", "mode": mode, "kits": kits, "max_nights": nights}
                  for k in range(n_teams)]
    from .. import settings

    travel = settings.travel_choice()  # the office's travel settings, unless overridden here
    if travel_matrix:
        travel = {"source": "matrix", "file": str(Path(travel_matrix).resolve()),
                  "settings": travel["settings"]}
    elif osrm_url:
        travel = {"source": "osrm", "url": osrm_url, "settings": travel["settings"]}
    name = plan_name or f"Rencana {start_date.isoformat()} ({len(specs)} tim, {days} hari)"
    try:
        params = P.build(
            name=name, dataset_id=ds.id,
            teams=[P.team(s["name"], b, mode=s["mode"], kits=s["kits"],
                          max_nights=s["max_nights"]) for s in specs],
            start_date=start_date, days=days, work_start=work_start, work_end=work_end,
            holidays=[_date(h, "--holiday") for h in holidays], below=below,
            min_unrecorded=min_unrecorded, turnout=turnout, must_visit=list(must_visit),
            exclude=list(exclude),
            pooling={"radius_km": pooling_radius} if pooling_radius else None, travel=travel,
            time_limit=time_limit, seed=seed, solution_limit=solution_limit)
    except P.ParamsError as exc:
        raise click.ClickException(str(exc)) from exc
    _run(params, out=out, export_instance=export_instance, save=save, workers=workers,
         lang=lang, quiet=quiet)


def _run(params, *, out, export_instance, save, workers, lang, quiet) -> None:
    from .. import pipeline

    click.echo(f"{len(params.teams)} tim, {params.calendar.days} hari kerja mulai "
               f"{params.calendar.start_date}; batas waktu {params.solver.time_limit:g} s.",
               err=True)
    try:
        outcome = pipeline.solve(params, _progress(quiet, lang), workers=workers)
        if export_instance:
            _write_json(export_instance, outcome.instance)
            click.echo(f"Instance ditulis ke {export_instance}", err=True)
        if save:
            version = pipeline.store(outcome)
            result = version.result
        else:
            result = pipeline.finalise(outcome, plan_id=outcome.plan["plan_id"], version=1,
                                       plan_name=params.name)
    except pipeline.PlanningError as exc:
        raise click.ClickException(str(exc)) from exc
    _summary(result, lang)
    if out:
        _write_json(out, result)
        click.echo(f"Plan JSON ditulis ke {out}")
    if save:
        click.echo(f"Disimpan sebagai rencana #{version.plan_id} versi {version.version}.")


@click.command("replan")
@click.option("--plan", "plan_id", type=int, required=True, help="Rencana tersimpan (id).")
@click.option("--version", "version", type=int, default=None,
              help="Versi yang dihitung ulang (default: terbaru).")
@click.option("--from", "from_date", required=True,
              help="Hitung ulang mulai tanggal ini (YYYY-MM-DD); hari sebelumnya tetap.")
@click.option("--time-limit", type=click.FloatRange(0.5, 3600), default=None,
              help="Batas waktu (default: seperti versi asal).")
@click.option("--seed", type=click.IntRange(0), default=None)
@click.option("--workers", type=click.IntRange(1, 8), default=2, show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Tulis Plan JSON versi baru ke berkas ini.")
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True)
@click.option("--quiet", is_flag=True, help="Tanpa baris kemajuan.")
@needs_db
def replan_command(plan_id, version, from_date, time_limit, seed, workers, out, lang, quiet):
    """Hitung ulang sisa hari sebuah rencana (hasil lapangan dipakai); simpan sebagai versi baru."""
    from .. import field, pipeline, plan_store

    row = plan_store.find_version(plan_id, version)
    if row is None or not row.result:
        raise click.ClickException(f"Rencana {plan_id}"
                                   + (f" versi {version}" if version else "") + " tidak ditemukan.")
    try:
        params = field.replan_params(row, _date(from_date, "--from"), time_limit=time_limit,
                                     seed=seed)
    except (field.FieldError, pipeline.PlanningError) as exc:
        raise click.ClickException(str(exc)) from exc
    _run(params, out=out, export_instance=None, save=True, workers=workers, lang=lang,
         quiet=quiet)


COMMANDS = (plan_command, replan_command)
