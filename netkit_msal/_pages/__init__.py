"""Built-in pages the loopback receiver shows after the sign-in redirect (package data)."""
