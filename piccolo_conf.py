# Shim so the `piccolo` command line finds the project's configuration.
from rescueops.db.piccolo_conf import *  # noqa: F401,F403
