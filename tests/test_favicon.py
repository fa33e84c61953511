"""The site's icon: a browser tab or bookmark shows the Board's mark, not a blank page."""

from __future__ import annotations

import xml.etree.ElementTree as ET


def test_every_page_links_the_icon_and_it_is_served(client):
    page = client.get("/").text
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in page
    assert 'href="/static/img/favicon.svg"' in client.get("/login").text

    with client.get("/static/img/favicon.svg") as icon:
        assert icon.status_code == 200
        assert icon.mimetype == "image/svg+xml"
        svg = ET.fromstring(icon.data)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.get("viewBox") == "0 0 32 32"
    fills = {shape.get("fill") for shape in svg.iter() if shape.get("fill")}
    assert "#1d4f7a" in fills  # the Board's blue, as in the site header
