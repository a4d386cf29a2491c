"""Piccolo configuration: the engine from settings and one app per domain."""

from piccolo.conf.apps import AppRegistry

from rescueops.db.engine import engine_from_url
from rescueops.settings import get_settings

DB = engine_from_url(get_settings().resolved_database_url)

APP_REGISTRY = AppRegistry(
    apps=[
        "rescueops.orgs.piccolo_app",
        "rescueops.teams.piccolo_app",
        "rescueops.accounts.piccolo_app",
        "rescueops.members.piccolo_app",
        "rescueops.equipment.piccolo_app",
        "rescueops.jobs.piccolo_app",
        "rescueops.events.piccolo_app",
        "rescueops.drills.piccolo_app",
        "rescueops.deployments.piccolo_app",
        "rescueops.coordination.piccolo_app",
        "rescueops.grading.piccolo_app",
        "rescueops.training.piccolo_app",
    ]
)
