"""Organisation tree: region, leagues/cities, banners/counties, depots, partner provinces; hubs and zones."""
