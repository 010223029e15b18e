"""netkit-msal against its peers (msal, azure-identity, msgraph-sdk, O365) on the local emulator.

``python -m bench`` (or ``./dev bench``) runs every comparison in one run, prints a table of ratios (ours /
peer, medians of alternating runs) and writes ``bench/results/latest.json``. ``--quick`` is a smoke run.
"""
