"""Lunar constants (SI) from ../shared/reference/physics-and-standards.md."""

GM = 4.9028001224453e12  # m^3/s^2, GRAIL GRGM1200A
R_REF = 1_737_400.0  # m, cartographic reference sphere (DEM heights are above it)
R_GRAVITY = 1_738_000.0  # m, reference radius of the gravity field coefficients
J2 = 2.0330530e-4  # -, GL0660B zero-tide, unnormalised
C22 = 2.242615e-5  # -, GL0660B zero-tide, unnormalised
OMEGA = 2.66170e-6  # rad/s, mean rotation rate about the ME polar axis
SURFACE_GRAVITY = 1.624  # m/s^2
