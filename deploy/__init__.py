"""The master's image: its health probe (:mod:`deploy.health`); the entry point and the
base image script are shell scripts beside it."""
