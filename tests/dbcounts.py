"""Row counts of the import tables: the "database unchanged" check of the import tests."""

from sqlalchemy import text

from planner.extensions import db

IMPORT_TABLES = ("villages", "datasets", "village_stats")


def table_counts(app=None) -> dict[str, int]:
    """Rows per import table (in ``app``'s context when given, else the current one)."""
    if app is None:
        return {t: db.session.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()
                for t in IMPORT_TABLES}
    with app.app_context():
        out = table_counts()
        db.session.remove()
    return out
