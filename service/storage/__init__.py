"""Where Broadsheet keeps what outlives a request: articles and their PDFs, and later more.

`db` sets up engines and sessions and declares `Base`, whose metadata every table joins;
`models` declares the tables; `articles` reads and writes articles; `schema` runs the
Alembic migrations in `migrations/`, which ship inside the package.
"""
