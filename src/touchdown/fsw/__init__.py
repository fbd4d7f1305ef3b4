"""Flight software: navigation, guidance, control, modes. Sees measurements only, never truth."""
