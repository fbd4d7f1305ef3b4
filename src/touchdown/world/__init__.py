"""The world (truth): lander dynamics, sensors, actuators and contact. Compiled kernels."""
