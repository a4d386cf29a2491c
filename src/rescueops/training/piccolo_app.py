from rescueops.db.apps import domain_app

APP_CONFIG = domain_app("training", depends_on=("members", "equipment"))
