"""`python -m sfc_sdk.cli ...`: the same as the `sfc-sdk` command."""

from .main import main

main()
