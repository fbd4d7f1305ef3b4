"""touchdown: lunar landing — world, flight software, link, ground — over real LRO terrain."""

__version__ = "0.1.0"
