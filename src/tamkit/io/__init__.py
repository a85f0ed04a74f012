"""Reading and writing TAM stacks: one module per format family.

``load_stack(path, delays=None, pixel_nm=None)`` picks the reader from the file's suffix and
returns a validated stack (dT/T, or raw counts with ``spot``/``run``/``chopper`` dims).
``save_stack(stack, path)`` writes tamkit's own NetCDF schema, which reloads unchanged.
"""

from tamkit.io.netcdf import load_netcdf, save_stack

__all__ = ["load_netcdf", "save_stack"]
