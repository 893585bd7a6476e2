"""``serve``: the HTTP service, on one process or several."""

from __future__ import annotations

import os

import click

from trustsvc.cli.runtime import initialise, is_initialised, opened, overrides, settings_of


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int) -> None:
    """Run the HTTP service (initialises a fresh home with development defaults)."""
    import uvicorn

    from trustsvc.pki.home import public_url_mismatch
    from trustsvc.settings import development_base_url

    settings = settings_of(ctx, from_home=False)
    # Production needs the public URL set; checked before one is derived below.
    settings.check_production()
    derived = not settings.public_base_url_is_set
    if derived:
        # Every certificate and QR code names this URL: it must be where this
        # server answers, not the default port.
        settings = settings.with_public_base_url(development_base_url(host, port))
        click.echo(
            f"trustsvc: TRUSTSVC_PUBLIC_BASE_URL is not set; the public URL is "
            f"{settings.public_base_url}, from --host and --port",
            err=True,
        )
    if not is_initialised(settings):
        click.echo(
            f"trustsvc: {settings.home} has no PKI yet; initialising it with development defaults",
            err=True,
        )
        initialise(settings)
    for problem in settings.development_defaults_in_use():
        click.echo(f"trustsvc: development default in use: {problem}", err=True)
    mismatch = public_url_mismatch(settings)
    if mismatch is not None:
        click.echo(f"trustsvc: warning: {mismatch}", err=True)
    # Fail here, with one line, rather than inside the server's start-up.
    with opened(settings):
        pass
    click.echo(f"trustsvc: serving on http://{host}:{port} (public URL {settings.public_base_url})")
    from trustsvc.api.observability import configure_logging
    from trustsvc.api.server import uvicorn_options

    # Our own request log (route templates, no query strings) replaces uvicorn's access
    # log, which would write raw URLs, and with them ID numbers, into the logs.
    configure_logging()
    if workers == 1:
        from trustsvc.api.app import create_app, tune_garbage_collection
        from trustsvc.api.observability import RequestLog

        app = create_app(settings, request_log=RequestLog.to_stderr())
        app.state.api.pdf_verifier.warm_up()
        tune_garbage_collection()
        uvicorn.run(app, host=host, port=port, **uvicorn_options(settings))
        return
    # Worker processes build their own app from the environment.
    for name, value in overrides(ctx).items():
        os.environ[f"TRUSTSVC_{name.upper()}"] = str(value)
    if derived:
        os.environ["TRUSTSVC_PUBLIC_BASE_URL"] = settings.public_base_url
    uvicorn.run(
        "trustsvc.api.app:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **uvicorn_options(settings),
    )
