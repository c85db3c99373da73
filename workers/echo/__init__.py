"""Echo: notifications and triggers. See :mod:`workers.echo.worker`."""
