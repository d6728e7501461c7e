"""Long work in the background: imports above a size and full rule runs, as Huey jobs.

A :class:`~workbench.jobs.models.Job` row tells who asked for what and how it ended; the live
progress and the cancellation flag live in Huey's own storage (an SQLite file under
``instance/`` by default, Redis in production), so that they can be read and written while the
job's long transaction holds the database.
"""
