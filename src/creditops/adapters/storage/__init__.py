"""The workspace database: schema, migrations and the repository."""
