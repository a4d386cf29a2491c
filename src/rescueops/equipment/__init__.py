"""Equipment and materials: the catalogue, individually tracked items, stock with its movement ledger."""
