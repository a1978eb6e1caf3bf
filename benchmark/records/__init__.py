"""The RunRecord: its schema, the append-only results store (load/save), run identity and labels,
variants, record checks, and the papers' table definitions with their published numbers. May import
every package below it (``core`` to ``stats``).
"""
