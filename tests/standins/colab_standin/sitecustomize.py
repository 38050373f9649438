"""Colab's kernels start with `google.colab` imported (helpers.core.runtime.in_colab looks for it):
the stand-in does the same for every Python started with this folder on its path.

With BOT_OFFLINE=1 (the colab smoke run) Python sockets may connect only to the loopback
interface: a download the smoke run should never make fails loudly instead of going out."""
import os

import google.colab  # noqa: F401

if os.environ.get("BOT_OFFLINE") == "1":
    import ipaddress
    import socket

    def _loopback(address) -> bool:
        host = address[0] if isinstance(address, tuple) else None
        if host is None:  # a Unix socket path
            return True
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return False

    def _guard(connect):
        def guarded(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
                raise ConnectionRefusedError(f"offline (BOT_OFFLINE=1): refused a connection to {address!r}")
            return connect(self, address)
        return guarded

    socket.socket.connect = _guard(socket.socket.connect)
    socket.socket.connect_ex = _guard(socket.socket.connect_ex)
