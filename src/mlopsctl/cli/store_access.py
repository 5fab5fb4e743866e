"""The object store as an administrator: explicit endpoint and keys, or the ones read from the cluster.

The store is reached with the admin credentials read from the cluster and its host endpoint (the NodePort
that the Kind config maps to 127.0.0.1), or, without a cluster, with --endpoint and the key pair from
MLOPSCTL_S3_ACCESS_KEY_ID / MLOPSCTL_S3_SECRET_ACCESS_KEY (flags exist too, but they show up in `ps`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from mlopsctl import constants as c
from mlopsctl.cli import context as cli_context

Endpoint = Annotated[
    str | None,
    typer.Option(
        "--endpoint", envvar="MLOPSCTL_S3_ENDPOINT", help="S3 endpoint (default: the installed store's NodePort)."
    ),
]

AccessKey = Annotated[
    str | None,
    typer.Option("--access-key", envvar="MLOPSCTL_S3_ACCESS_KEY_ID", help="Access key id (default: from the cluster)."),
]

SecretKey = Annotated[
    str | None,
    typer.Option(
        "--secret-key",
        envvar="MLOPSCTL_S3_SECRET_ACCESS_KEY",
        help="Secret key (default: from the cluster; prefer the environment variable).",
        show_default=False,
    ),
]

Region = Annotated[str, typer.Option("--region", envvar="MLOPSCTL_S3_REGION", help="Region to sign for.")]

Tenant = Annotated[str | None, typer.Option("--tenant", "-t", help="The tenant's bucket instead of the catalog.")]


def kube_api(ctx: typer.Context):
    return cli_context.deps(ctx).kube()


def admin_store(ctx: typer.Context, endpoint=None, access_key=None, secret_key=None, region=c.STORE_REGION, api=None):
    """The admin S3 client: explicit endpoint and keys win; anything missing is read from the cluster.

    `tenant add --model VERSION` uses it with `services.model_registry.pin_model`."""
    from mlopsctl.errors import UsageError

    if bool(access_key) != bool(secret_key):
        raise UsageError("give both the access key and the secret key, or neither")
    if not (endpoint and access_key):
        from mlopsctl.services import storage

        api = api or kube_api(ctx)
        if not access_key:
            creds = storage.admin_credentials(api)
            access_key, secret_key = creds.access_key_id, creds.secret_access_key
        if not endpoint:
            endpoint = storage.store_endpoints(api)[1]
    return cli_context.deps(ctx).object_store(endpoint, access_key, secret_key, region)
