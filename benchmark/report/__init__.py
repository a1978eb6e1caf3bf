"""Records in, text, HTML and figures out: tables (Markdown, LaTeX, CSV, JSON, HTML), compare, ranks
over records, plots, the CD diagram, the static site and listings. It never runs a probe. May import
every other package of ``benchmark``.
"""
