"""``map.html``: the folium page that opens with no network, its layers, legend and live plan."""
