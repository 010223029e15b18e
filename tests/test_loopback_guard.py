import socket
import subprocess
import sys

import pytest
from loopback_guard import InternetAccessBlocked


def test_connections_beyond_loopback_are_refused():
    with pytest.raises(InternetAccessBlocked):
        socket.create_connection(("192.0.2.1", 443), timeout=1)
    with pytest.raises(InternetAccessBlocked):
        socket.getaddrinfo("login.microsoftonline.com", 443)


def test_child_processes_are_guarded_too():
    code = "import socket; socket.getaddrinfo('graph.microsoft.com', 443)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "loopback only" in result.stderr
