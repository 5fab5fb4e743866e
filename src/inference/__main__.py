"""`python -m inference serve|train`: the container's entry point and the image build's training step."""

from __future__ import annotations

import argparse
import logging
import os
import sys


def _port(raw: str | None) -> int:
    if raw is None or raw.strip() == "":
        return 8080
    if not raw.strip().isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"PORT={raw!r} is not a port number")
    return int(raw)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from inference.app import create_app
    from inference.artifact import ModelLoadError
    from inference.loader import loader_for
    from inference.settings import ServiceSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        port = args.port if args.port is not None else _port(os.environ.get("PORT"))
        settings = ServiceSettings.from_env(os.environ)
        # The model is loaded and compiled in a child process: scikit-learn never enters the server's memory.
        loader = loader_for(settings.model_uri, os.environ, isolated=True)
    except (ValueError, ModelLoadError) as exc:
        print(f"inference: error: {exc}", file=sys.stderr)
        return 2
    failed: list[str] = []
    server: uvicorn.Server | None = None

    def stop(message: str) -> None:
        failed.append(message)
        if server is not None:
            server.should_exit = True

    app = create_app(settings, loader, on_load_failure=stop)
    # One worker per pod: the metrics are single-process and the HPA scales pods, not workers.
    config = uvicorn.Config(
        app,
        host=args.host,
        port=port,
        workers=1,
        access_log=False,
        server_header=False,
        log_level="info",
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    server.run()
    if failed:
        print(f"inference: error: {failed[0]}", file=sys.stderr)
        return 3
    return 0


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from inference.train import DEFAULT_DATA, TrainingDataError, train

    try:
        report = train(Path(args.data) if args.data else DEFAULT_DATA, Path(args.out), version=args.version)
    except (TrainingDataError, ValueError) as exc:
        print(f"inference: error: {exc}", file=sys.stderr)
        return 2
    heldout = report.metrics["heldout"]
    print(
        f"model {report.version}: {report.classifier}, held-out accuracy {heldout['accuracy']:.3f} "
        f"(f1 {heldout['f1_macro']:.3f}) -> {report.out_dir}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the API with uvicorn (env: TENANT_NAME, MODEL_URI, MAX_BATCH_SIZE, MAX_BATCH_WAIT_MS, "
        "S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION)",
    )
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, help="port to listen on (default: $PORT, else 8080)")
    serve.set_defaults(run=_serve)
    train = commands.add_parser("train", help="train a model artifact (model.skops + metadata.json)")
    train.add_argument("--data", help="CSV with the columns text,label (default: the shipped data set)")
    train.add_argument("--out", required=True, help="artifact directory to write")
    train.add_argument("--version", help="model version (default: DATE-DATAHASH)")
    train.set_defaults(run=_train)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
