"""CloudWatch: the operation groups implemented so far (dashboards)."""

from __future__ import annotations

from overcast.services.cloudwatch.dashboards import Dashboards


class CloudWatchProvider(Dashboards):
    service = "cloudwatch"
