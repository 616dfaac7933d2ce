"""``planner import-network``, ``planner network list|remove|piers|mouth`` and ``planner calibrate``:
the road, river and pier layers travel follows (``planner.networks``, ``planner.network``)."""

from __future__ import annotations

from pathlib import Path

import click

from .common import needs_db


def _fmt(x: float, nd: int = 1) -> str:
    return f"{x:,.{nd}f}"


@click.command("import-network")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["road", "river", "pier"]), required=True,
              help="What the layer holds: road lines, river lines or pier points.")
@click.option("--name", default=None, help="Layer name (default: the file name).")
@click.option("--replace", is_flag=True,
              help="Remove the layers of this kind with the same name first.")
@needs_db
def import_network_command(file: Path, kind: str, name: str | None, replace: bool):
    """Import a road, river or pier layer (GeoJSON, zipped Shapefile or GeoPackage)."""
    from .. import networks
    from ..importer import ImportProblem
    from ..importer.network import frame_summary_line

    try:
        s = networks.import_layer(file, kind=kind, filename=file.name, name=name, replace=replace)
    except ImportProblem as exc:
        raise click.ClickException(str(exc)) from None
    summary = s["summary"]
    click.echo(f"{s['file']}: layer {s['id']} \"{s['name']}\" ({kind}): "
               + frame_summary_line(summary) + ".")
    if summary.get("column"):
        click.echo(f"Classes from column \"{summary['column']}\".")
    if summary.get("unknown"):
        click.echo("Unrecognised classes (default speed): "
                   + ", ".join(f"{k} ({v})" for k, v in summary["unknown"].items()))
    skipped = summary.get("skipped") or {}
    if skipped.get("values"):
        click.echo("Skipped (not usable): " + ", ".join(f"{k} ({v})" for k, v in skipped["values"].items()))
    if skipped.get("other_kind"):
        click.echo(f"Skipped {skipped['other_kind']} features of another kind.")
    if summary.get("crs"):
        click.echo(f"Converted from {summary['crs']} to EPSG:4326.")
    if s["replaced"]:
        click.echo(f"Replaced layer(s) {', '.join(map(str, s['replaced']))}.")


@click.group("network")
def network_group():
    """The road, river and pier layers travel follows."""


@network_group.command("list")
@needs_db
def network_list_command():
    """List the imported network layers and the network settings."""
    from .. import networks

    layers = networks.list_layers()
    if not layers:
        click.echo("No network layers. Import one: planner import-network FILE --kind road|river|pier")
    for r in layers:
        what = f"{r['parts']:,} points" if r["kind"] == "pier" else \
            f"{r['parts']:,} lines, {_fmt(r['km'])} km"
        classes = r["summary"].get("classes") or {}
        cls = "; " + ", ".join(f"{c} {v['lines']}" for c, v in classes.items()) if classes else ""
        click.echo(f"{r['id']:>4}  {r['kind']:<6} {r['name']}  ({what}{cls}; "
                   f"{networks.iso(r['created_at'])} by {r['created_by'] or '?'})")
    value = networks.network_settings()
    mouths = value.get("mouths") or []
    click.echo(f"Snap distance {value['snap_km']:g} km; river mouths: "
               + ("; ".join(f"{a:.5f}, {b:.5f}" for a, b in mouths) if mouths
                  else "none (flow follows the lines' drawing direction)")
               + f"; automatic piers within {value['auto_piers_km']:g} km of a road end"
               + (" (off)" if not value["auto_piers_km"] else "") + ".")
    cal = value.get("calibration")
    if cal:
        click.echo(f"Speeds calibrated {cal.get('at', '')} from {cal.get('file') or '?'}: "
                   f"{cal.get('fitted_legs')} legs, error {cal.get('rmse_before_min')} -> "
                   f"{cal.get('rmse_after_min')} min (RMS).")


@network_group.command("remove")
@click.argument("layer_id", type=int)
@needs_db
def network_remove_command(layer_id: int):
    """Remove a network layer by its id (see `planner network list`)."""
    from .. import networks

    try:
        info = networks.remove_layer(layer_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Removed layer {info['id']} \"{info['name']}\" ({info['kind']}, {info['parts']:,} parts).")


@network_group.command("piers")
@click.option("--suggest", is_flag=True, help="Suggest piers: road ends near a river.")
@click.option("--max-km", type=click.FloatRange(0, 50), default=2.0, show_default=True,
              help="How near a road end must be to a river.")
@click.option("--spacing-km", type=click.FloatRange(0, 100), default=0.0, show_default=True,
              help="Keep at most one suggestion per this distance (0: all).")
@click.option("--save", is_flag=True, help="Store the suggestions as the pier layer \"Dermaga usulan\".")
@needs_db
def network_piers_command(suggest: bool, max_km: float, spacing_km: float, save: bool):
    """List the piers, or suggest them where roads end near a river."""
    from .. import networks
    from ..network import NetworkError

    if not suggest:
        piers = networks.pier_points()
        if piers.empty:
            click.echo("No pier layer. Suggest piers with: planner network piers --suggest")
        for r in piers.itertuples():
            click.echo(f"{r.lat:.5f}, {r.lon:.5f}  {r.name}")
        return
    try:
        sug = networks.suggest_piers(max_km, spacing_km)
    except NetworkError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(sug)} road ends within {max_km:g} km of a river:")
    for i, r in enumerate(sug.itertuples(), start=1):
        click.echo(f"{i:>4}  road end {r.lat:.5f}, {r.lon:.5f}  river {r.river_lat:.5f}, "
                   f"{r.river_lon:.5f}  ({r.km:.2f} km)")
    if save:
        if sug.empty:
            raise click.ClickException("Nothing to save.")
        sug = sug.assign(name=[f"Dermaga usulan {i + 1}" for i in range(len(sug))])
        out = networks.save_piers(sug)
        click.echo(f"Saved {out['parts']} piers as layer {out['id']} \"Dermaga usulan\".")


@network_group.command("mouth")
@click.option("--at", "points", multiple=True, metavar="LAT,LON",
              help="A river mouth, e.g. --at -3.05,111.56 (repeatable).")
@click.option("--clear", is_flag=True, help="Forget the marked mouths.")
@needs_db
def network_mouth_command(points, clear: bool):
    """Mark the river mouth(s): downstream is towards them along the rivers (without a mark,
    rivers flow the way their lines are drawn)."""
    from .. import networks
    from ..network import NetworkError

    if clear == bool(points):
        raise click.UsageError("Give --at LAT,LON for each river mouth, or --clear.")
    mouths = []
    for p in points:
        try:
            lat, lon = (float(x) for x in p.split(","))
        except ValueError:
            raise click.BadParameter(f"'{p}' is not LAT,LON (e.g. -3.05,111.56)",
                                     param_hint="--at") from None
        mouths.append((lat, lon))
    try:
        networks.set_mouths(mouths)
    except NetworkError as exc:
        raise click.ClickException(str(exc)) from None
    networks.clear_cache()
    click.echo("River mouths cleared: flow follows the lines' drawing direction." if clear else
               f"{len(mouths)} river mouth(s) marked.")


@click.command("calibrate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--save", is_flag=True, help="Store the fitted speeds in the office's settings.")
@needs_db
def calibrate_command(file: Path, save: bool):
    """Fit the network's class speeds to known travel times (CSV from_code,to_code,mode,minutes;
    or dari,ke,moda,menit). Codes are village codes or team base names."""
    from .. import networks
    from ..network import NetworkError

    try:
        before = networks.speeds()
        cal = networks.calibrate_file(file)
    except NetworkError as exc:
        raise click.ClickException(str(exc)) from None
    t = cal.table
    w = max([4, *(len(x) for x in t["from"])]), max([2, *(len(x) for x in t["to"])])
    click.echo(f"{'from':<{w[0]}}  {'to':<{w[1]}}  {'mode':<5} {'known':>6} {'before':>7} "
               f"{'error':>6} {'after':>6} {'error':>6}")
    for r in t.itertuples():
        note = "" if r.on_network else "  (off the network: built-in estimate, not fitted)"
        click.echo(f"{r._1:<{w[0]}}  {r.to:<{w[1]}}  {r.mode:<5} {r.known:>6.0f} {r.before:>7.0f} "
                   f"{r.error_before:>+6.0f} {r.after:>6.0f} {r.error_after:>+6.0f}{note}")
    click.echo(f"RMS error over {int(t['on_network'].sum())} legs on the network: "
               f"{cal.rmse_before:.1f} -> {cal.rmse_after:.1f} min.")
    for n in cal.notes:
        click.echo(n)
    if cal.factors:
        click.echo("Fitted speeds (km/h):")
    for key, f in cal.factors.items():
        kind, _, cls = key.partition(":")
        if kind == "road":
            click.echo(f"  road  {cls:<10} {before.road_kmh[cls]:>5.1f} -> "
                       f"{cal.speeds.road_kmh[cls]:>5.1f}  (x{f:.2f})")
        else:
            click.echo(f"  river {cls:<10} {before.river_kmh[cls]:>5.1f} -> "
                       f"{cal.speeds.river_kmh[cls]:>5.1f}, current {cal.speeds.current_kmh[cls]:.1f}"
                       f"  (x{f:.2f})")
    if save:
        networks.save_calibration(cal, file=file.name)
        networks.clear_cache()
        click.echo("Saved: new plans use these speeds (setting \"network\").")
    else:
        click.echo("Not saved (add --save to use these speeds for new plans).")


COMMANDS = (import_network_command, network_group, calibrate_command)
