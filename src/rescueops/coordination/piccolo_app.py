from rescueops.db.apps import domain_app

APP_CONFIG = domain_app("coordination", depends_on=("orgs", "teams", "accounts"))
