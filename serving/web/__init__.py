"""The credit office's web pages (信用办工作台): a room of its own under ``/ui``.

=================  ==========================================================================
module             holds
=================  ==========================================================================
``routes``         the ``/ui`` router: renders pages, turns failures into Chinese HTML pages
``auth``           who is logged in: sessions, roles, CSRF, login and its lockout
``sessions``       signed cookies, their server-side record, the lockout counts, messages
``warning_pages``  the warnings list, one warning, lifecycle moves (view objects, no HTTP)
``entity_pages``   an enterprise: risk, grade, records, actual controller, network
``model_pages``    the registered models and their metrics
``network``        the network picture (关联关系图谱) as inline SVG
``templating``     the Jinja2 templates and their filters (``templates/``, ``static/``)
=================  ==========================================================================

:mod:`serving.app` includes :data:`router` and mounts ``static/`` at ``/ui/static``.
"""

from serving.web.routes import router

__all__ = ["router"]
