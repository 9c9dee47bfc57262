"""The Contacts API: RapidPro's API v2 (``/api/v2/*.json``) over the same use cases, rules and audit log
as the console, served by ``ccconsole serve`` (Starlette on uvicorn). A front end: it uses
``ccconsole.app`` only."""
