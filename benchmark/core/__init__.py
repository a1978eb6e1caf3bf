"""The ground floor: errors, folders and environment (config), the name registries, RunSpec,
progress and notices, command suggestions, writable checks, run locks, stable hashing and library
versions. It imports nothing else of ``benchmark``; every other package may import it.
"""
