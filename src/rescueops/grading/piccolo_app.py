from rescueops.db.apps import domain_app

APP_CONFIG = domain_app("grading", depends_on=("teams",))
