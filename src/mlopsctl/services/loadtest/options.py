"""What a load test is asked to do: the options of `mlopsctl loadtest`, parsed and checked (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from inference.loadgen.spec import LoadConfig, SloThreshold, SpecError, parse_slo
from mlopsctl.errors import UsageError


@dataclass(frozen=True)
class LoadOptions:
    """What load to generate; the target URL is decided by the mode (in-cluster, --url, --port-forward)."""

    rate: float | None = None
    rate_from: float | None = None
    rate_to: float | None = None
    concurrency: int | None = None
    duration: float | None = 30.0
    requests: int | None = None
    warmup: float = 0.0
    mix: str = "predict"
    batch_size: int = 16
    bodies: tuple[str, ...] = ()
    path: str | None = None
    max_in_flight: int = 1000
    connections: int = 128
    timeout: float = 10.0
    workers: int = 1  # generators sharing the schedule: request i goes to worker i % workers

    def engine_config(
        self, url: str, connect_wait: float = 0.0, start_at: float | None = None, worker_index: int = 0
    ) -> LoadConfig:
        """The engine's configuration (for worker `worker_index` when there are several)."""
        config = LoadConfig(
            url=url,
            rate=self.rate,
            rate_from=self.rate_from,
            rate_to=self.rate_to,
            concurrency=self.concurrency,
            duration=self.duration,
            requests=self.requests,
            warmup=self.warmup,
            mix=self.mix,
            batch_size=self.batch_size,
            bodies=self.bodies,
            path=self.path,
            max_in_flight=self.max_in_flight,
            max_connections=self.connections,
            timeout=self.timeout,
            connect_wait=connect_wait,
            workers=self.workers,
            worker_index=worker_index,
            start_at=start_at,
        )
        try:
            return config.validate()
        except SpecError as exc:
            raise UsageError(str(exc), hint="see `mlopsctl loadtest --help`") from None

    @property
    def planned_seconds(self) -> float:
        """How long the load is planned to run (warm-up included), for the Job's deadline."""
        if self.duration is not None:
            return self.warmup + self.duration
        rate = self.rate or self.rate_from or 1.0
        per_second = rate if self.concurrency is None else 50.0 * self.concurrency
        return self.warmup + (self.requests or 0) / per_second


def parse_options(
    *,
    rate: str | None = None,
    rate_from: str | None = None,
    rate_to: str | None = None,
    concurrency: int | None = None,
    duration: str | None = None,
    requests: int | None = None,
    warmup: str | None = None,
    mix: str = "predict",
    batch_size: int = 16,
    body_file_text: str | None = None,
    body_file_name: str = "--body-file",
    path: str | None = None,
    max_in_flight: int = 1000,
    connections: int = 128,
    timeout: str = "10s",
    workers: int = 1,
) -> LoadOptions:
    """Options as typed on the command line -> LoadOptions; every bad value is a UsageError naming the option.

    With no load model given, the open model at 50 requests/s; with neither --duration nor --requests, 30 s.
    """
    from inference.loadgen.mix import load_body_file
    from inference.loadgen.spec import parse_duration, parse_rate

    try:
        if rate is None and rate_from is None and rate_to is None and concurrency is None:
            rate = "50"
        bodies: tuple[str, ...] = ()
        if body_file_text is not None:
            try:
                bodies = tuple(load_body_file(body_file_text))
            except ValueError as exc:
                raise SpecError(f"invalid --body-file {body_file_name}: {exc}") from None
        options = LoadOptions(
            rate=parse_rate(rate) if rate is not None else None,
            rate_from=parse_rate(rate_from, "--rate-from") if rate_from is not None else None,
            rate_to=parse_rate(rate_to, "--rate-to") if rate_to is not None else None,
            concurrency=concurrency,
            duration=parse_duration(duration) if duration is not None else (None if requests else 30.0),
            requests=requests,
            warmup=0.0 if warmup in (None, "0", "0s") else parse_duration(warmup, "--warmup"),
            mix=mix,
            batch_size=batch_size,
            bodies=bodies,
            path=path,
            max_in_flight=max_in_flight,
            connections=connections,
            timeout=parse_duration(timeout, "--timeout"),
            workers=workers,
        )
    except SpecError as exc:
        raise UsageError(str(exc), hint="see `mlopsctl loadtest --help`") from None
    options.engine_config("http://validation.invalid")  # the remaining cross-option checks
    return options


# Without --slo a run still fails (exit 6) when it barely worked: no request answered, or more than this share of
# errors. It is a "the test itself is broken" floor, not a quality target: give --slo for that, or --slo none.
DEFAULT_SLO = "errors<5%"


def parse_slo_option(text: str | None) -> tuple[SloThreshold, ...]:
    """The --slo thresholds; DEFAULT_SLO when none were given, nothing for `--slo none`."""
    if text is None:
        text = DEFAULT_SLO
    if text.strip().lower() == "none":
        return ()
    try:
        return parse_slo(text)
    except SpecError as exc:
        raise UsageError(str(exc), hint='for example --slo "p99<200ms,errors<1%"') from None
