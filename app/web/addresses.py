"""Where the caption page listens and the address people open: scope, host, URL with its token.

Pure Python (standard library), no traffic: the machine's network addresses are read from its own
interfaces (Linux: one ioctl per interface, and the routing table for which one leads out),
never found by sending a packet anywhere. Called on whichever thread starts sharing.
"""
from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys
from enum import Enum
from pathlib import Path

LOOPBACK = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"  # "on this network" is a deliberate choice of the user
DEFAULT_PORT = 8765
PAGE_PREFIX = "/c/"  # every address is /c/<token>/...: anything else gets 403
_SIOCGIFADDR = 0x8915
# Bridges and tunnels of containers and virtual machines: no phone in the room is on them.
_VIRTUAL = ("docker", "br-", "veth", "virbr", "vboxnet", "vmnet", "lxc", "lxd", "podman", "cni", "flannel")
_ROUTES = Path("/proc/net/route")


class Scope(str, Enum):
    THIS_COMPUTER = "computer"  # 127.0.0.1: an OBS browser source on this machine
    NETWORK = "network"  # every interface: phones in the room (plain HTTP, see the README)

    @property
    def bind_host(self) -> str:
        return LOOPBACK if self is Scope.THIS_COMPUTER else ALL_INTERFACES


def page_path(token: str) -> str:
    return f"{PAGE_PREFIX}{token}/"


def page_url(host: str, port: int, token: str, *, layout: str | None = None) -> str:
    """The address to open (``layout="obs"``: the transparent strip for an OBS browser source)."""
    query = f"?layout={layout}" if layout else ""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{page_path(token)}{query}"


def network_addresses() -> list[str]:
    """This machine's IPv4 addresses that other devices can reach, best first: the interface the
    default route leaves by, then other private (LAN) ones, then the rest; container and VM
    bridges last. Empty if there is none (then only this computer can open the page)."""
    named: list[tuple[str, str]] = []
    if sys.platform.startswith("linux"):
        named += _linux_interface_addresses()
    with contextlib.suppress(OSError):
        named += [("", str(info[4][0])) for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    return rank_addresses(named, default_route_interfaces())


def rank_addresses(named: list[tuple[str, str]], outward: set[str]) -> list[str]:
    """``(interface, IPv4 address)`` pairs, best first (see ``network_addresses``), each once."""
    ranked: dict[str, tuple[int, int, str]] = {}
    for name, text in named:
        address = ipaddress.ip_address(text)
        if address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast:
            continue
        rank = (0 if name in outward else 2 if name.startswith(_VIRTUAL) else 1, 0 if address.is_private else 1, text)
        ranked[text] = min(ranked.get(text, rank), rank)
    return sorted(ranked, key=ranked.__getitem__)


def _linux_interface_addresses() -> list[tuple[str, str]]:
    import fcntl

    addresses = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            with contextlib.suppress(OSError):
                packed = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name[:15].encode()))
                addresses.append((name, socket.inet_ntoa(packed[20:24])))
    return addresses


def default_route_interfaces(routes: Path = _ROUTES) -> set[str]:
    """The interfaces of the default route (destination 0.0.0.0) in Linux's routing table."""
    try:
        lines = routes.read_text().splitlines()[1:]
    except OSError:
        return set()
    return {fields[0] for line in lines if len(fields := line.split()) > 1 and fields[1] == "00000000"}
