"""The Moon: constants, frames, gravity, terrain."""
