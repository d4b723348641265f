"""The built-in issuer's pages: the login form (user name or e-mail, password, "Log in")
and the page for a request it refuses."""

from __future__ import annotations

import html

from fastapi.responses import HTMLResponse


def error_page(message: str, status: int = 400) -> HTMLResponse:
    text = html.escape(message)
    return HTMLResponse(_page(f"<p role='alert'>{text}</p>"), status_code=status)


def login_page(params: dict[str, str], problem: str = "", status: int = 200) -> HTMLResponse:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in params.items()
    )
    alert = f"<p role='alert'>{html.escape(problem)}</p>" if problem else ""
    body = f"""<h1>Log in to Danube</h1>{alert}
<form method="post" action="authorize">{hidden}
<label>User name or e-mail
  <input name="username" autocomplete="username" required autofocus></label>
<label>Password
  <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form>"""
    return HTMLResponse(_page(body), status_code=status, headers={"Cache-Control": "no-store"})


def _page(body: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Danube: log in</title>
<style>body{{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto}}
label{{display:block;margin:.75rem 0}}input{{display:block;width:100%;padding:.4rem}}
button{{padding:.5rem 1rem}}[role=alert]{{color:#b00020}}</style></head>
<body>{body}</body></html>"""
