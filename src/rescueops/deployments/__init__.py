"""Deployments: incidents, the teams dispatched to them, their members, equipment and log, hours on close."""
