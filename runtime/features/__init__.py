"""The data platform's runtime: the rendered feature definitions made Feast objects and applied to an
environment's registry, point-in-time training frames, materialisation and online reads (Feast's
Python API; feast is imported inside the functions that need it)."""
