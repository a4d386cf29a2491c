"""create_app(): plugins, routes, middleware, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Request
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from rescueops import health
from rescueops.accounts.access import can_anywhere
from rescueops.accounts.auth import AuthMiddleware
from rescueops.accounts.pages import AccountPages
from rescueops.accounts.routes import AuditController, AuthController, ServiceAccountController, UserController
from rescueops.calendar import china_time
from rescueops.coordination.pages import CoordinationPages
from rescueops.coordination.routes import CoordinationController
from rescueops.db import engine as db_engine
from rescueops.db.migrations import ensure_migrated
from rescueops.db.pagination import provide_page
from rescueops.deployments.pages import DeploymentPages
from rescueops.deployments.routes import DeploymentController
from rescueops.drills.pages import DrillPages
from rescueops.drills.routes import DrillController, ics_feed
from rescueops.equipment.pages import EquipmentPages, PublicAedPages
from rescueops.equipment.routes import AedController, EquipmentController, public_aeds
from rescueops.events.bus import InProcessBus
from rescueops.events.pages import InboxPages
from rescueops.events.routes import EventController, NotificationController
from rescueops.grading.pages import GradingPages
from rescueops.grading.routes import GradingController
from rescueops.jobs import service as jobs
from rescueops.members.pages import MemberPages
from rescueops.members.routes import HoursController, MemberController, RosterController
from rescueops.observability import configure_logging, init_sentry
from rescueops.orgs.pages import OrgPages
from rescueops.orgs.routes import OrgController
from rescueops.settings import Settings, get_settings
from rescueops.teams.pages import TeamPages
from rescueops.teams.routes import FilingController, TeamController
from rescueops.training import pages as training_pages
from rescueops.training import routes as training_routes
from rescueops.uploads import BODY_MAX_BYTES
from rescueops.web import i18n
from rescueops.web.errors import EXCEPTION_HANDLERS, DocumentedErrors
from rescueops.web.middleware import RequestLogMiddleware, check_json_body
from rescueops.web.pages import set_request_locale

WEB = resources.files("rescueops.web")


def _jinja() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(WEB / "templates")),
        autoescape=select_autoescape(["html", "svg"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["pick"] = i18n.pick
    env.globals["can_anywhere"] = can_anywhere
    env.filters["china_time"] = china_time
    return env


async def _before_request(request: Request) -> None:
    await set_request_locale(request)
    await check_json_body(request)


def _lifespan(check_migrations: bool, in_process_bus: bool, run_jobs: bool):
    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        engine = db_engine.database()
        await db_engine.prepare(engine)
        try:
            if check_migrations:
                await ensure_migrated()
            scheduler = jobs.start_scheduler() if run_jobs else None
            # Without a broker this process dispatches the outbox itself; with one, the workers relay it.
            bus = InProcessBus().start() if in_process_bus else None
            try:
                yield
            finally:
                if bus is not None:
                    await bus.stop()
                if scheduler is not None:
                    scheduler.shutdown(wait=False)
        finally:
            await db_engine.release(engine)

    return lifespan


def create_app(settings: Settings | None = None, *, check_migrations: bool = True) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings)
    init_sentry(settings)
    swagger = SwaggerRenderPlugin(
        js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
        css_url="/static/vendor/swagger-ui/swagger-ui.css",
        standalone_preset_js_url="/static/vendor/swagger-ui/swagger-ui-standalone-preset.js",
        favicon="<link rel='icon' href='/static/favicon.svg' type='image/svg+xml'>",
        path="/swagger",
    )
    return Litestar(
        route_handlers=[
            health.live,
            health.ready,
            AuthController,
            UserController,
            ServiceAccountController,
            AuditController,
            OrgController,
            TeamController,
            FilingController,
            RosterController,
            MemberController,
            HoursController,
            EquipmentController,
            AedController,
            EventController,
            NotificationController,
            DrillController,
            GradingController,
            DeploymentController,
            CoordinationController,
            *training_routes.CONTROLLERS,
            ics_feed,
            public_aeds,
            AccountPages,
            OrgPages,
            TeamPages,
            MemberPages,
            EquipmentPages,
            InboxPages,
            PublicAedPages,
            DrillPages,
            GradingPages,
            DeploymentPages,
            CoordinationPages,
            *training_pages.PAGES,
            create_static_files_router(path="/static", directories=[str(WEB / "static")], include_in_schema=False),
        ],
        dependencies={"page": Provide(provide_page, sync_to_thread=False)},
        middleware=[RequestLogMiddleware(), AuthMiddleware()],
        before_request=_before_request,
        request_max_body_size=BODY_MAX_BYTES,  # uploads raise it on their own routes (rescueops.uploads)
        exception_handlers=EXCEPTION_HANDLERS,
        plugins=[DocumentedErrors()],
        csrf_config=CSRFConfig(
            secret=settings.resolved_secret_key(),
            cookie_name="rescueops_csrf",
            cookie_secure=settings.base_url.startswith("https://"),
            # The API takes bearer tokens only (see accounts.auth), which a browser never sends on its own.
            exclude=["/api/", "/health/", "/schema"],
        ),
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(_jinja())),
        openapi_config=OpenAPIConfig(
            title="RescueOps API",
            version="1",
            description="Red Cross emergency rescue teams: organisation, accounts and (in later releases) teams, "
            "equipment, drills, deployments and grading. Authenticate with POST /api/v1/auth/token.",
            path="/schema",
            render_plugins=[swagger],
        ),
        lifespan=[_lifespan(check_migrations, in_process_bus=not settings.amqp_url, run_jobs=settings.api_runs_jobs)],
        logging_config=None,
        debug=False,
    )
