"""Where the caption page listens and the address people open: scope, host, URL with its token.

Pure Python (standard library), no traffic: the machine's network addresses are read from its own
interfaces (Linux: one ioctl per interface), never found by sending a packet anywhere. Called on
whichever thread starts sharing.
"""
from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys
from enum import Enum

LOOPBACK = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"  # "on this network" is a deliberate choice of the user
DEFAULT_PORT = 8765
PAGE_PREFIX = "/c/"  # every address is /c/<token>/...: anything else gets 403
_SIOCGIFADDR = 0x8915


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
    """This machine's IPv4 addresses that other devices can reach, the private (LAN) ones first;
    empty if it has none (then only this computer can open the page)."""
    found: list[str] = []
    if sys.platform.startswith("linux"):
        found += _linux_interface_addresses()
    with contextlib.suppress(OSError):
        found += [str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    usable = []
    for text in dict.fromkeys(found):
        address = ipaddress.ip_address(text)
        if not (address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast):
            usable.append(text)
    return sorted(usable, key=lambda a: (not ipaddress.ip_address(a).is_private, a))


def _linux_interface_addresses() -> list[str]:
    import fcntl

    addresses = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            with contextlib.suppress(OSError):
                packed = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name[:15].encode()))
                addresses.append(socket.inet_ntoa(packed[20:24]))
    return addresses
