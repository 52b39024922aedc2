"""IPAM: default pools, subnets chosen around host routes, addresses, create requests, bip."""

from __future__ import annotations

import ipaddress

import pytest

from dockyard.engine.config import build
from dockyard.engine.network_ipam import (
    Pool,
    choose_subnet,
    default_pools,
    parse_bip,
    pool_from_request,
    pools_of,
)
from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument

N = ipaddress.IPv4Network
A = ipaddress.IPv4Address


def test_default_pools_are_dockerds() -> None:
    pools = default_pools()
    assert pools[0] == N("172.17.0.0/16") and pools[14] == N("172.31.0.0/16")
    assert pools[15] == N("192.168.0.0/20") and pools[-1] == N("192.168.240.0/20")


def test_choose_subnet_skips_routes_and_other_networks() -> None:
    assert choose_subnet([]) == N("172.17.0.0/16")
    # a host route inside 172.17/16 and another network on 172.18/16
    assert choose_subnet([N("172.17.5.0/24"), N("172.18.0.0/16")]) == N("172.19.0.0/16")
    # a route covering all of 172.16/12 sends it to 192.168
    assert choose_subnet([N("172.16.0.0/12")]) == N("192.168.0.0/20")


def test_choose_subnet_from_configured_pools_and_exhaustion() -> None:
    pools = pools_of([("10.199.0.0/23", 24)])
    assert pools == [N("10.199.0.0/24"), N("10.199.1.0/24")]
    assert choose_subnet([N("10.199.0.0/24")], pools) == N("10.199.1.0/24")
    with pytest.raises(FailedPrecondition, match="non-overlapping"):
        choose_subnet([N("10.199.0.0/16")], pools)
    assert pools_of([]) is None
    with pytest.raises(InvalidArgument, match="size 8"):
        pools_of([("10.199.0.0/16", 8)])


def test_pool_gateway_is_first_address_and_allocation_is_lowest_first() -> None:
    pool = Pool.of(N("10.199.3.0/24"))
    assert pool.gateway == A("10.199.3.1")
    assert pool.config() == {"Subnet": "10.199.3.0/24", "Gateway": "10.199.3.1"}
    assert [pool.allocate() for _ in range(3)] == [A("10.199.3.2"), A("10.199.3.3"), A("10.199.3.4")]
    pool.release(A("10.199.3.3"))
    assert pool.allocate() == A("10.199.3.3")


def test_pool_with_range_and_gateway_elsewhere() -> None:
    pool = Pool.of(N("10.199.3.0/24"), A("10.199.3.254"), N("10.199.3.128/25"))
    assert pool.config() == {"Subnet": "10.199.3.0/24", "IPRange": "10.199.3.128/25", "Gateway": "10.199.3.254"}
    assert pool.allocate() == A("10.199.3.128")
    # a wanted address may be anywhere in the subnet, but only once
    assert pool.allocate("10.199.3.7") == A("10.199.3.7")
    with pytest.raises(AlreadyExists, match="Address already in use"):
        pool.allocate("10.199.3.7")
    for bad in ("10.199.4.1", "10.199.3.254", "10.199.3.0", "10.199.3.255"):
        with pytest.raises(InvalidArgument):
            pool.allocate(bad)


def test_pool_exhaustion_never_hands_out_gateway_or_broadcast() -> None:
    pool = Pool.of(N("10.199.3.0/30"))
    assert pool.allocate() == A("10.199.3.2")
    with pytest.raises(FailedPrecondition, match="no available IPv4 addresses"):
        pool.allocate()


def test_pool_checks() -> None:
    with pytest.raises(InvalidArgument, match="not in subnet"):
        Pool.of(N("10.199.3.0/24"), A("10.199.4.1"))
    with pytest.raises(InvalidArgument, match="not in subnet"):
        Pool.of(N("10.199.3.0/24"), None, N("10.199.0.0/16"))
    with pytest.raises(InvalidArgument, match="too small"):
        Pool.of(N("10.199.3.0/31"))


def test_pool_from_request() -> None:
    taken = [N("10.199.1.0/24")]
    pools = pools_of([("10.199.0.0/16", 24)])
    assert pool_from_request(None, taken, pools).subnet == N("10.199.0.0/24")
    assert pool_from_request({"Config": []}, [N("10.199.0.0/24")], pools).subnet == N("10.199.1.0/24")
    pool = pool_from_request({"Driver": "default", "Config": [
        {"Subnet": "10.199.9.0/24", "IPRange": "10.199.9.16/28", "Gateway": "10.199.9.100"}]}, taken, pools)
    assert pool.config() == {"Subnet": "10.199.9.0/24", "IPRange": "10.199.9.16/28", "Gateway": "10.199.9.100"}
    with pytest.raises(FailedPrecondition, match="Pool overlaps"):
        pool_from_request({"Config": [{"Subnet": "10.199.1.0/25"}]}, taken, pools)
    with pytest.raises(InvalidArgument, match="corresponding subnet"):
        pool_from_request({"Config": [{"Gateway": "10.199.1.1"}]}, taken, pools)
    with pytest.raises(InvalidArgument, match="invalid subnet"):
        pool_from_request({"Config": [{"Subnet": "nope"}]}, taken, pools)
    with pytest.raises(InvalidArgument, match="only the default IPAM driver"):
        pool_from_request({"Driver": "other"}, taken, pools)


def test_bip_and_daemon_config() -> None:
    assert parse_bip("10.199.7.1/24") == (N("10.199.7.0/24"), A("10.199.7.1"))
    for bad in ("10.199.7.0/24", "nope", "fd00::1/64"):
        with pytest.raises(InvalidArgument, match="bip"):
            parse_bip(bad)
    config = build({"bridge": "dytest0", "bip": "10.199.7.1/24"},
                   {"default_address_pools": (("10.199.0.0/16", 24),)})
    assert (config.bridge, config.bip, config.default_address_pools) == (
        "dytest0", "10.199.7.1/24", (("10.199.0.0/16", 24),))
    with pytest.raises(InvalidArgument, match="bridge"):
        build({"bridge": "a-name-longer-than-15"})
    with pytest.raises(InvalidArgument, match="bip"):
        build({"bip": "10.199.7.0/24"})
