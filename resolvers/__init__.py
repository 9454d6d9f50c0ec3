"""Use cases: plain async functions over models, gateways and events. No GraphQL here.

Called alike by ``schema/`` (GraphQL), ``app/`` (webhooks, jobs, CLI). Each takes keyword
arguments, receives ``now`` rather than reading the clock, and raises typed
``resolvers.errors.UserFacingError`` subclasses for expected failures.
"""
