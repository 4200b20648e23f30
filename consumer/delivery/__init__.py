"""The delivery engine and what it is made of."""
