from rescueops.db.apps import domain_app

APP_CONFIG = domain_app("events", depends_on=("accounts",))
