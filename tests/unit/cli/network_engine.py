"""Network payloads for the fake engine: three predefined networks and two user-defined ones,
served by ``GET /networks``, ``GET /networks/{id}``, create, remove, prune, connect and
disconnect (with dockerd's errors for unknown and predefined networks)."""

from __future__ import annotations

from tests.unit.cli.fake_engine import FakeEngine, Reply, Request, error_reply, json_reply


def _net(name: str, ident: str, driver: str, config: list[dict[str, str]] | None = None,
         labels: dict[str, str] | None = None, created: str = "2024-05-06T07:08:09.123456789Z") -> dict[str, object]:
    return {"Name": name, "Id": ident, "Created": created, "Scope": "local", "Driver": driver, "EnableIPv4": True,
            "EnableIPv6": False, "IPAM": {"Driver": "default", "Options": None, "Config": config or []},
            "Internal": False, "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
            "ConfigOnly": False, "Containers": {}, "Options": {}, "Labels": labels or {}}


NETWORKS = [
    _net("bridge", "a1" * 32, "bridge", [{"Subnet": "10.199.0.0/24", "Gateway": "10.199.0.1"}]),
    _net("host", "b2" * 32, "host"),
    _net("none", "c3" * 32, "null"),
    _net("net10", "d4" * 32, "bridge", [{"Subnet": "10.199.10.0/24", "Gateway": "10.199.10.1"}],
         {"tier": "web"}),
    _net("net9", "e5" * 32, "bridge", [{"Subnet": "10.199.9.0/24", "IPRange": "10.199.9.128/25",
                                        "Gateway": "10.199.9.1"}]),
]
NEW_ID = "f6" * 32


def _find(ref: str) -> dict[str, object] | None:
    for n in NETWORKS:
        if ref in (n["Id"], n["Name"]) or str(n["Id"]).startswith(ref):
            return n
    return None


def install(engine: FakeEngine) -> None:
    engine.json("GET", "/networks", NETWORKS)
    engine.json("POST", "/networks/create", {"Id": NEW_ID, "Warning": ""}, 201)
    engine.json("POST", "/networks/prune", {"NetworksDeleted": ["net10", "net9"]})
    for n in NETWORKS:
        for ref in (str(n["Id"]), str(n["Name"]), str(n["Id"])[:12]):
            engine.routes[("GET", f"/networks/{ref}")] = lambda _r, n=n: json_reply(n)
            engine.routes[("POST", f"/networks/{ref}/connect")] = lambda _r: Reply(200)
            engine.routes[("POST", f"/networks/{ref}/disconnect")] = lambda _r: Reply(200)
            engine.routes[("DELETE", f"/networks/{ref}")] = _remove
    for ref in ("nope", "gone"):
        engine.routes[("GET", f"/networks/{ref}")] = lambda _r, ref=ref: error_reply(404, f"network {ref} not found")
        engine.routes[("DELETE", f"/networks/{ref}")] = lambda _r, ref=ref: error_reply(
            404, f"network {ref} not found")


def _remove(request: Request) -> Reply:
    ref = request.path.rsplit("/", 1)[1]
    net = _find(ref)
    assert net is not None
    if net["Name"] in ("bridge", "host", "none"):
        return error_reply(403, f"{net['Name']} is a pre-defined network and cannot be removed")
    return Reply(204)
