"""Qt item models (and proxies) over the plain records that storage returns."""
