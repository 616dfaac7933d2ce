"""The campaign at a glance (issue 11): planned vs recorded per day, the regency's recording rate
over time, per team and per kecamatan, with the figure as PNG and the tables as XLSX.

* ``/kampanye``: the page;
* ``/kampanye.png``: the figure (``planner.campaign.plot_png``) in the reader's language;
* ``/kampanye.xlsx``: the four tables (``planner.campaign.to_xlsx``).

The office reads it (admin, coordinator, viewer); team leads see their own plans only and not
the whole campaign (``access.POLICY``).
"""

from __future__ import annotations

import io

from flask import Blueprint, render_template, send_file
from flask_babel import gettext as _

from .. import campaign as campaign_service
from .common import locale

bp = Blueprint("campaign", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/kampanye")
def index():
    c = campaign_service.campaign()
    return render_template("field/campaign.html", c=c, dataset=c.dataset)


@bp.route("/kampanye.png")
def png():
    data = campaign_service.plot_png(campaign_service.campaign(), locale(), gettext=_)
    return send_file(io.BytesIO(data), mimetype="image/png", download_name="kampanye.png")


@bp.route("/kampanye.xlsx")
def xlsx():
    data = campaign_service.to_xlsx(campaign_service.campaign(), locale(), gettext=_)
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name="kampanye.xlsx")
