"""State survives a clean restart and a crash (SIGKILL): nothing acknowledged is lost."""

from __future__ import annotations

import json
import threading

from overcast.testing import ServerProcess

BODY = json.dumps({"widgets": []})


def test_data_survives_a_restart(disk_server: ServerProcess) -> None:
    disk_server.client("cloudwatch").put_dashboard(DashboardName="kept", DashboardBody=BODY)
    disk_server.restart()
    got = disk_server.client("cloudwatch").get_dashboard(DashboardName="kept")
    assert got["DashboardBody"] == BODY


def test_every_acknowledged_write_survives_kill_9(disk_server: ServerProcess) -> None:
    cw = disk_server.client("cloudwatch")
    acknowledged: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            name = f"d{i:05d}"
            try:
                cw.put_dashboard(DashboardName=name, DashboardBody=BODY)
            except Exception:
                return  # the server died mid-request: that write was never acknowledged
            acknowledged.append(name)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    while len(acknowledged) < 200:
        threading.Event().wait(0.01)
    disk_server.kill()
    stop.set()
    thread.join()

    disk_server.start()
    cw = disk_server.client("cloudwatch")
    stored: set[str] = set()
    kwargs: dict[str, str] = {}
    while True:
        page = cw.list_dashboards(**kwargs)
        stored.update(e["DashboardName"] for e in page["DashboardEntries"])
        if "NextToken" not in page:
            break
        kwargs = {"NextToken": page["NextToken"]}
    missing = [name for name in acknowledged if name not in stored]
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"


def test_reset_wipes_everything(disk_server: ServerProcess) -> None:
    cw = disk_server.client("cloudwatch")
    cw.put_dashboard(DashboardName="gone", DashboardBody=BODY)
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(disk_server.endpoint + "/_overcast/reset", method="POST")
    ).read()
    assert cw.list_dashboards()["DashboardEntries"] == []


def test_clock_offset_survives_a_restart(disk_server: ServerProcess) -> None:
    import urllib.request

    def clock(data: dict[str, float] | None = None) -> dict[str, float]:
        request = urllib.request.Request(
            disk_server.endpoint + "/_overcast/clock",
            data=json.dumps(data).encode() if data else None,
            method="POST" if data else "GET",
        )
        with urllib.request.urlopen(request) as r:
            return json.loads(r.read())

    clock({"advance": 86400})
    disk_server.restart()
    assert clock()["offset"] >= 86400 - 60
