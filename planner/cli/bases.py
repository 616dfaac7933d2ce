"""``planner base add|list|remove|default`` and ``planner team add|list|archive|restore``: the
office's team bases and team roster from the terminal — the same service and the same rules
and messages as the Pangkalan and Tim pages (``planner.roster``); every change is in the
audit log as done by ``cli:<operating-system user>``.

A base that a stored plan or a roster team uses is not removed: the command says who uses it
and exits 1, unless ``--archive`` (then it is archived: not offered for new plans, old plans
keep it).
"""

from __future__ import annotations

import click

from .common import needs_db

VEHICLES = ("car", "boat", "both")


def _fail(exc) -> click.ClickException:
    return click.ClickException(str(exc))


def _base_or_fail(key: str):
    from .. import roster

    base = roster.find_base(key)
    if base is None:
        raise click.ClickException(f"Tidak ada pangkalan {key!r} (sebutkan nama atau nomornya; "
                                   "lihat planner base list).")
    return base


def _team_or_fail(key: str):
    from .. import roster

    team = roster.find_team(key)
    if team is None:
        raise click.ClickException(f"Tidak ada tim {key!r} di daftar (sebutkan nama atau "
                                   "nomornya; lihat planner team list).")
    return team


# --------------------------------------------------------------------------- bases
@click.group("base")
def base_group():
    """Pangkalan tim: tambah, daftar, hapus/arsipkan, jadikan utama."""


@base_group.command("add")
@click.option("--name", required=True, help="Nama pangkalan (mis. Kantor Disdukcapil).")
@click.option("--lat", required=True, help="Lintang, derajat desimal (mis. -2.54).")
@click.option("--lon", required=True, help="Bujur, derajat desimal (mis. 112.95).")
@click.option("--vehicles", type=click.Choice(VEHICLES), default="car", show_default=True,
              help="Kendaraan yang berangkat dari sini (both: kota dermaga).")
@click.option("--default", "make_default", is_flag=True,
              help="Jadikan pangkalan utama (pilihan pertama di formulir rencana).")
@needs_db
def base_add(name, lat, lon, vehicles, make_default):
    """Tambah pangkalan (koordinat diperiksa: di dalam Indonesia)."""
    from .. import roster

    try:
        base = roster.create_base(name, roster.parse_number(lat), roster.parse_number(lon),
                                  vehicles, default=make_default)
    except roster.RosterError as exc:
        raise _fail(exc) from exc
    click.echo(f"Pangkalan {base.name} (#{base.id}) ditambahkan: {base.lat:.5f}, {base.lon:.5f}, "
               f"{roster.vehicle_label(base.vehicles)}{', utama' if base.is_default else ''}.")


@base_group.command("list")
@needs_db
def base_list():
    """Daftar pangkalan (aktif dulu), dengan jumlah rencana dan tim yang memakainya."""
    from .. import roster

    usage = roster.usage_counts()
    bases = roster.list_bases()
    if not bases:
        click.echo("Belum ada pangkalan (planner base add ...).")
    for b in bases:
        plans, teams = usage.get(b.id, (0, 0))
        state = "diarsipkan" if b.archived else ("utama" if b.is_default else "aktif")
        click.echo(f"{b.id:>4}  {b.name:<32} {b.lat:>10.5f} {b.lon:>10.5f}  {b.vehicles:<5} "
                   f"{state:<10} rencana={plans} tim={teams}")


@base_group.command("remove")
@click.argument("key", metavar="NAMA|NOMOR")
@click.option("--archive", is_flag=True,
              help="Arsipkan (juga bila dipakai rencana atau tim) alih-alih menghapus.")
@needs_db
def base_remove(key, archive):
    """Hapus pangkalan yang tidak dipakai; yang dipakai hanya bisa diarsipkan (--archive)."""
    from .. import roster

    base = _base_or_fail(key)
    name = base.name
    try:
        done = roster.remove_base(base, archive=archive)
    except roster.BaseInUse as exc:
        raise click.ClickException(f"{exc}\nPakai --archive untuk mengarsipkannya.") from exc
    click.echo(f"Pangkalan {name} {'diarsipkan' if done == 'archived' else 'dihapus'}.")


@base_group.command("default")
@click.argument("key", metavar="NAMA|NOMOR")
@needs_db
def base_default(key):
    """Jadikan pangkalan utama (pilihan pertama di formulir rencana)."""
    from .. import roster

    base = _base_or_fail(key)
    try:
        roster.make_default(base)
    except roster.RosterError as exc:
        raise _fail(exc) from exc
    click.echo(f"Pangkalan utama: {base.name}.")


# --------------------------------------------------------------------------- teams
@click.group("team")
def team_group():
    """Daftar tim kantor: tambah, daftar, arsipkan, aktifkan lagi."""


@team_group.command("add")
@click.option("--name", required=True, help="Nama tim (sama dengan di rencana).")
@click.option("--leader", default=None, help="Nama ketua tim.")
@click.option("--phone", default=None, help="Telepon ketua tim (mis. 0812-3456-7890).")
@click.option("--members", default=None, help="Anggota tim (teks bebas).")
@click.option("--vehicle", type=click.Choice(VEHICLES), default="car", show_default=True,
              help="car = darat, boat = sungai, both = darat dan sungai.")
@click.option("--kits", type=int, default=3, show_default=True, help="Perangkat rekam (1–20).")
@click.option("--base", "base_key", default=None, metavar="NAMA|NOMOR",
              help="Pangkalan tim (bawaan: pangkalan utama).")
@click.option("--max-nights", type=int, default=0, show_default=True,
              help="Malam menginap per perjalanan (0 = pulang tiap hari).")
@needs_db
def team_add(name, leader, phone, members, vehicle, kits, base_key, max_nights):
    """Tambah tim ke daftar."""
    from .. import repository, roster

    base = _base_or_fail(base_key) if base_key else repository.default_base()
    try:
        team = roster.create_team(name=name, leader=leader, phone=phone, members=members,
                                  vehicle=vehicle, kits=kits,
                                  base_id=base.id if base is not None else None,
                                  max_nights=max_nights)
    except roster.RosterError as exc:
        raise _fail(exc) from exc
    click.echo(f"Tim {team.name} (#{team.id}) ditambahkan: {roster.vehicle_label(team.vehicle)}, "
               f"{team.kits} perangkat, pangkalan {base.name}.")


@team_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Termasuk tim yang diarsipkan.")
@needs_db
def team_list(show_all):
    """Daftar tim."""
    from .. import roster

    teams = roster.list_teams(include_archived=show_all)
    if not teams:
        click.echo("Belum ada tim di daftar (planner team add ...).")
    bases = {b.id: b.name for b in roster.list_bases()}
    for t in teams:
        state = " (diarsipkan)" if t.archived else ""
        click.echo(f"{t.id:>4}  {t.name:<24} {t.vehicle:<5} perangkat={t.kits} "
                   f"malam={t.max_nights} pangkalan={bases.get(t.base_id, '-')} "
                   f"ketua={t.leader or '-'} telepon={t.phone or '-'}{state}")


@team_group.command("archive")
@click.argument("key", metavar="NAMA|NOMOR")
@needs_db
def team_archive(key):
    """Arsipkan tim (tidak ditawarkan lagi untuk rencana baru; rencana lama tetap)."""
    from .. import roster

    team = _team_or_fail(key)
    roster.archive_team(team)
    click.echo(f"Tim {team.name} diarsipkan.")


@team_group.command("restore")
@click.argument("key", metavar="NAMA|NOMOR")
@needs_db
def team_restore(key):
    """Aktifkan lagi tim yang diarsipkan."""
    from .. import roster

    team = _team_or_fail(key)
    try:
        roster.restore_team(team)
    except roster.RosterError as exc:
        raise _fail(exc) from exc
    click.echo(f"Tim {team.name} aktif lagi.")


COMMANDS = (base_group, team_group)
