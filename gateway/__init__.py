"""The aiohttp gateway: Gate-compatible routes, OpenAPI + Swagger UI, server-sent event streams.

It holds no database connection: every read is a query and every write a command on the bus.
"""
