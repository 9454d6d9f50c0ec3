"""Module aerich's own CLI reads (``aerich -c aerich.ini …``); ``payql migrate`` is preferred."""

import os

from app.db import tortoise_config

TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL", "sqlite://payql.sqlite3"))
