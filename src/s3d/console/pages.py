"""The console's two server-rendered pages: sign-in, and the shell the browser app fills in."""

from __future__ import annotations

from html import escape
from string import Template

PREFIX = "/_s3d/console/"
ASSETS = PREFIX + "assets/"

_HEAD = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title · s3d console</title>
<link rel="stylesheet" href="${assets}console.css">
<link rel="icon" href="data:,">
$meta
</head>
""")

_SIGN_IN = Template("""<body class="signin">
<main id="main">
<h1>s3d console</h1>
<form method="post" action="${prefix}signin" class="card">
<h2>Sign in</h2>
$message
<input type="hidden" name="csrf" value="$csrf">
<label for="access_key">Access key</label>
<input id="access_key" name="access_key" autocomplete="username" required autofocus>
<label for="secret_key">Secret key</label>
<input id="secret_key" name="secret_key" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
""")

_SHELL = Template("""<body>
<a class="skip" href="#view">Skip to content</a>
<header>
<span class="brand">s3d console</span>
<nav aria-label="Sections">
<a href="#/buckets">Buckets</a>
<a href="#/status">Status</a>
<a href="#/queue">Queue</a>
<a href="#/sync">Sync, mounts and filters</a>
</nav>
<span class="who">Signed in as <strong>$user</strong>$role</span>
<form method="post" action="${prefix}signout">
<input type="hidden" name="csrf" value="$csrf">
<button type="submit">Sign out</button>
</form>
</header>
<div id="live" class="live" role="status" aria-live="polite"></div>
<main id="view" tabindex="-1"></main>
<script src="${assets}console.js"></script>
</body>
</html>
""")


def sign_in(csrf: str, message: str | None = None) -> bytes:
    note = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    head = _HEAD.substitute(title="Sign in", assets=ASSETS, meta="")
    return (head + _SIGN_IN.substitute(prefix=PREFIX, csrf=escape(csrf), message=note)).encode()


def shell(user: str, admin: bool, csrf: str, mode: str) -> bytes:
    meta = (
        f'<meta name="s3d-csrf" content="{escape(csrf)}">\n'
        f'<meta name="s3d-user" content="{escape(user)}">\n'
        f'<meta name="s3d-admin" content="{"true" if admin else "false"}">\n'
        f'<meta name="s3d-mode" content="{escape(mode)}">'
    )
    head = _HEAD.substitute(title="Console", assets=ASSETS, meta=meta)
    role = " (admin)" if admin else ""
    return (
        head + _SHELL.substitute(prefix=PREFIX, assets=ASSETS, user=escape(user), role=role, csrf=escape(csrf))
    ).encode()


def message(title: str, text: str) -> bytes:
    head = _HEAD.substitute(title=escape(title), assets=ASSETS, meta="")
    body = f'<body><main id="main"><h1>{escape(title)}</h1><p>{escape(text)}</p>'
    return (head + body + f'<p><a href="{PREFIX}">Back to the console</a></p></main></body></html>').encode()
