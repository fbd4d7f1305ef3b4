"""Reports on flights (shell): plots and tables a person reads, written from a ``Flight``."""
