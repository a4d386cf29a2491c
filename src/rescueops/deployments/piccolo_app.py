from rescueops.db.apps import domain_app

APP_CONFIG = domain_app("deployments", depends_on=("orgs", "teams", "members"))
