"""Alembic migrations, shipped inside the package so an installed chatcrm can migrate its database.

Alembic loads `env.py` and `versions/*.py` by path (`crm_core.db.alembic_config`); nothing imports them.
"""
