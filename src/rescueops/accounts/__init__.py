"""Accounts and access: users, scoped roles, sessions and API tokens, login throttling, audit log."""
