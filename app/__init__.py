"""payql's process edge: settings, the Starlette app, auth, HTTP routes and the CLI."""
