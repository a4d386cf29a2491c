"""Cross-region assistance: a league or hub asks for help, every other hub ranks its teams, offers are accepted as deployments."""
