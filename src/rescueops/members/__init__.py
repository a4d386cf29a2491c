"""Team members: people, memberships and their lifecycle, certificates, insurance, service hours, QR cards."""
