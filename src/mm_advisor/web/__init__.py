"""The consultation in a browser (`mm-advisor serve`; the `web` extra): `app` carries the
interview and the result over HTTP, `pages` writes them as HTML, `store` keeps the visits in
progress."""
