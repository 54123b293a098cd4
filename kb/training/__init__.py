"""Onboarding: practice generated from the knowledge base, learning paths, trainee progress.

`types` holds the records, `generate` and `scoring` are pure (no models, no files), `store`
keeps exercises, paths, assignments and attempts in SQLite, `banking77` reads the real
customer messages trainers map to documents for call drills. Importing this package loads
nothing.
"""
