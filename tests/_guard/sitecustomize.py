import os

if os.environ.get("NETKIT_LOOPBACK_ONLY") == "1":
    import loopback_guard

    loopback_guard.install()
