"""Running a real instance: first admin, production server, health, logs and backups.

(Named ``service``, not ``instance``: ``instance/`` is the application's data folder.)
"""
