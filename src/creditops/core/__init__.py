"""The domain, pure: standard library and decimal only; no I/O, no clock, no ORM, no web."""
