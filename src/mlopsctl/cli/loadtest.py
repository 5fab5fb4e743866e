"""`mlopsctl loadtest TENANT`: open-model load with honest percentiles, watching the HPA scale.

Modes: in the cluster (default: a Job in the tenant's namespace, from the platform image, aimed at its ClusterIP
Service, so the load spreads over every pod), `--url URL` (from this machine), or `--port-forward` (from this
machine through `kubectl port-forward`, which reaches ONE pod: no use for scale-out). `--workers N` splits one
schedule over N generators (an Indexed Job's pods, or local processes) and merges their histograms exactly.

Exit codes: 0 done; 2 bad option value, or --workers beyond the quota headroom; 5 unknown tenant, cluster or
target unreachable, Job failed to start; 6 an --slo threshold was breached, by default more than 5% errors or
no request answered (the report is still printed); 130 interrupted (the partial report is printed, and no Job
is left behind).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlopsctl.cli import context as cli_context

app = typer.Typer(name="loadtest", rich_markup_mode=None)

if TYPE_CHECKING:
    from rich.live import Live


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value:,}{unit}" if isinstance(value, int) else f"{value}{unit}"


def _hpa_text(hpa) -> str:
    if hpa is None:
        return ""
    cpu = f"{hpa.cpu_percent}%" if hpa.cpu_percent is not None else "-"
    target = f"/{hpa.cpu_target_percent}%" if hpa.cpu_target_percent is not None else ""
    return f"HPA {_fmt(hpa.current_replicas)}→{_fmt(hpa.desired_replicas)} replicas, CPU {cpu}{target}"


def progress_line(progress) -> str:
    """One plain line per second (not a tty)."""
    if progress.phase != "run" or progress.interval is None:
        return f"warm-up {progress.t:+.0f}s  {_hpa_text(progress.hpa)}"
    entry, total = progress.interval, progress.summary or {}
    latency = total.get("latency_ms") or {}
    target = f"/{entry['target_rate']:.0f}" if entry.get("target_rate") is not None else ""
    return (
        f"t={progress.t:4.0f}s  rate {entry['rate']:.0f}{target}/s  "
        f"p50 {_fmt(entry.get('p50'), 'ms')} p99 {_fmt(entry.get('p99'), 'ms')} (run p99 {_fmt(latency.get('p99'), 'ms')})  "
        f"errors {entry['errors']}  dropped {entry['dropped']}  in-flight {entry['in_flight']}  {_hpa_text(progress.hpa)}"
    )


class LiveView:
    """Rich Live panel on a terminal, refreshed each second; plain lines elsewhere; nothing with --quiet."""

    def __init__(self, mode: str, quiet: bool, color: bool) -> None:
        import os
        import sys

        from mlopsctl.progress import wants_spinner

        self.mode = "null" if quiet else mode
        self.live: Live | None = None
        self.color = color
        self.stream = sys.stderr
        if self.mode == "auto":
            self.mode = "rich" if wants_spinner(sys.stderr.isatty(), os.environ, color) else "plain"

    def _start(self) -> Live:
        """The live panel starts with the first second of load (the set-up steps show their own progress)."""
        import sys

        from rich.console import Console
        from rich.live import Live

        console = Console(file=sys.stderr, no_color=not self.color, highlight=False)
        self.live = live = Live(self._render(None), console=console, refresh_per_second=4, transient=True)
        live.start()
        return live

    def _render(self, progress):
        from rich.panel import Panel
        from rich.table import Table

        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        title = "loadtest (Ctrl-C stops it and cleans up)"
        if progress is None:
            grid.add_row("starting", "waiting for the first second of load")
            return Panel(grid, title=title, expand=False)
        if progress.phase != "run" or progress.interval is None:
            grid.add_row("warm-up", f"{progress.t:+.0f} s (not measured)")
            grid.add_row("HPA", _hpa_text(progress.hpa)[4:] or "-")
            return Panel(grid, title=title, expand=False)
        entry, total = progress.interval, progress.summary or {}
        latency = total.get("latency_ms") or {}
        requests = total.get("requests") or {}
        target = f" of {entry['target_rate']:,.0f}/s target" if entry.get("target_rate") is not None else ""
        grid.add_row("time", f"{progress.t:.0f} s")
        grid.add_row("rate", f"{entry['rate']:,.0f}/s{target}   in flight {entry['in_flight']}")
        grid.add_row(
            "latency ms",
            f"p50 {_fmt(entry.get('p50'), '', 2)}  p90 {_fmt(entry.get('p90'), '', 2)}  "
            f"p99 {_fmt(entry.get('p99'), '', 2)}  max {_fmt(entry.get('max'), '', 2)}   "
            f"(whole run: p99 {_fmt(latency.get('p99'), '', 2)})",
        )
        grid.add_row(
            "errors",
            f"{entry['errors']} this second, {_fmt(requests.get('errors'))} in all; dropped {_fmt(requests.get('dropped'))}",
        )
        grid.add_row("HPA", _hpa_text(progress.hpa)[4:] or "-")
        return Panel(grid, title=title, expand=False)

    def update(self, progress) -> None:
        if progress.phase == "starting":  # the set-up steps show their own progress
            return
        if self.mode == "rich":
            live = self.live if self.live is not None else self._start()
            live.update(self._render(progress))
        elif self.mode == "plain":
            self.stream.write(progress_line(progress) + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def summary_table(result):
    from rich.console import Group
    from rich.table import Table

    report = result.report
    requests = report.get("requests") or {}
    latency = report.get("latency_ms") or {}
    title = f"loadtest {result.tenant} ({result.mode})" + (" — interrupted, partial" if result.interrupted else "")
    table = Table(title=title, show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("target", f"{result.target}{report.get('path', '')}")
    if result.job:
        table.add_row("job", f"{result.job} (deleted)")
    model = report.get("model", "-")
    table.add_row("model", f"{model} ({report.get('mix', '-')})")
    table.add_row("duration", _fmt(report.get("duration_s"), " s"))
    target = report.get("target_rate")
    rate = _fmt(report.get("achieved_rate"), "/s")
    table.add_row("rate", rate + (f" achieved of {target:,.1f}/s target" if target else " achieved"))
    table.add_row(
        "requests",
        f"{_fmt(requests.get('completed'))} answered, {_fmt(requests.get('ok'))} ok, {_fmt(requests.get('errors'))} "
        f"errors, {_fmt(requests.get('dropped'))} dropped",
    )
    table.add_row(
        "latency (ms)",
        "  ".join(
            f"{label} {_fmt(latency.get(key), '', 2)}"
            for label, key in (("p50", "p50"), ("p90", "p90"), ("p95", "p95"), ("p99", "p99"), ("p99.9", "p99_9"))
        )
        + f"  max {_fmt(latency.get('max'), '', 2)}  mean {_fmt(latency.get('mean'), '', 2)}",
    )
    engine = report.get("engine") or {}
    lag = (engine.get("schedule_lag_ms") or {}).get("p99")
    if lag is not None:
        table.add_row(
            "generator",
            f"sent late by p99 {_fmt(lag, ' ms', 2)} (its own lag), {_fmt(engine.get('connections_opened'))} connections",
        )
    for worker in (report.get("workers") or []) if result.workers > 1 else []:  # each share and its own lateness
        lag, late = (worker.get("schedule_lag_ms") or {}).get("p99"), _fmt(worker.get("start_lateness_ms"), " ms", 0)
        rates = f"{_fmt(worker.get('achieved_rate'), '/s')} of {_fmt(worker.get('target_rate'), '/s')}"
        table.add_row(
            f"worker {worker.get('index')}", f"{rates}, late by p99 {_fmt(lag, ' ms', 2)}, started {late} late"
        )
    errors = report.get("errors") or {}
    parts = [f"HTTP {code}: {n}" for code, n in (errors.get("by_status") or {}).items()]
    parts += [f"{kind}: {n}" for kind, n in (errors.get("by_exception") or {}).items()]
    if parts:
        table.add_row("errors", ", ".join(parts))
    if result.hpa:
        first, last = result.hpa[0], result.hpa[-1]
        peak_cpu = max((s.cpu_percent for s in result.hpa if s.cpu_percent is not None), default=None)
        peak = max((s.desired_replicas for s in result.hpa if s.desired_replicas is not None), default=None)
        table.add_row(
            "HPA",
            f"replicas {_fmt(first.current_replicas)} → {_fmt(last.current_replicas)} (desired up to {_fmt(peak)}), "
            f"peak CPU {_fmt(peak_cpu, '%')}",
        )
    for check in result.slo:
        actual = _fmt(check.actual, f" {check.unit}", 2)
        table.add_row("SLO", f"{'pass' if check.passed else 'FAIL'}  {check.threshold}  (actual {actual})")
    for note in result.notes:
        table.add_row("note", note)
    return Group(table)


TIMELINE_COLUMNS = (
    "t", "duration", "target_rate", "rate", "sent", "completed", "ok", "errors", "failed", "dropped", "in_flight",
    "p50", "p90", "p99", "max",
)  # fmt: skip


def write_timeline_csv(result, path: str) -> None:
    """One row per second: the engine's timeline, with the HPA sample of that second."""
    import csv

    hpa_by_t = {round(sample.t): sample for sample in result.hpa}
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*TIMELINE_COLUMNS, "hpa_current_replicas", "hpa_desired_replicas", "hpa_cpu_percent"])
        for entry in result.report.get("timeline") or []:
            sample = hpa_by_t.get(round(entry["t"]))
            writer.writerow(
                [
                    *(entry.get(column) for column in TIMELINE_COLUMNS),
                    sample.current_replicas if sample else None,
                    sample.desired_replicas if sample else None,
                    sample.cpu_percent if sample else None,
                ]
            )


@app.command("loadtest")
def loadtest(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="The tenant to load (its namespace).")],
    url: Annotated[str | None, typer.Option("--url", help="Load this URL from here instead of in the cluster.")] = None,
    port_forward: Annotated[
        bool,
        typer.Option("--port-forward", help="Load through `kubectl port-forward` from here: reaches ONE pod only."),
    ] = False,
    rate: Annotated[
        str | None, typer.Option("--rate", help="Open model: requests/s (200, 200/s, 6000/m). Default 50.")
    ] = None,
    rate_from: Annotated[str | None, typer.Option("--rate-from", help="Ramp: starting rate.")] = None,
    rate_to: Annotated[str | None, typer.Option("--rate-to", help="Ramp: rate reached at the end.")] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="Closed model: connections sending back-to-back.")
    ] = None,
    duration: Annotated[
        str | None, typer.Option("--duration", help="Measured duration (30s, 2m). Default 30s.")
    ] = None,
    requests: Annotated[int | None, typer.Option("--requests", help="Measured requests (first limit wins).")] = None,
    warmup: Annotated[str | None, typer.Option("--warmup", help="Unmeasured load first (e.g. 10s).")] = None,
    mix: Annotated[str, typer.Option("--mix", help="predict (varied texts) or batch (/predict/batch).")] = "predict",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Texts per batch request.")] = 16,
    body_file: Annotated[
        str | None, typer.Option("--body-file", help="JSON body, or JSON Lines of bodies, to POST instead.")
    ] = None,
    path: Annotated[str | None, typer.Option("--path", help="Request path (default /predict).")] = None,
    max_in_flight: Annotated[
        int, typer.Option("--max-in-flight", help="Cap on requests in flight; beyond it they are dropped.")
    ] = 1000,
    connections: Annotated[int, typer.Option("--connections", help="Cap on open connections.")] = 128,
    timeout: Annotated[str, typer.Option("--timeout", help="Per-request timeout.")] = "10s",
    workers: Annotated[
        int,
        typer.Option("--workers", help="Generators sharing the schedule: pods of the Job, or local processes."),
    ] = 1,
    slo: Annotated[
        str | None,
        typer.Option(
            "--slo",
            help='Thresholds, e.g. "p99<200ms,errors<1%": exit 6 when breached. Default "errors<5%" (so a run '
            'where no request succeeds fails too); "none" checks nothing.',
        ),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", help="In-cluster: image to run (default: the platform image, else the tenant's)."),
    ] = None,
    start_timeout: Annotated[
        float, typer.Option("--start-timeout", min=1, help="In-cluster: seconds to wait for the Job's pod.")
    ] = 120.0,
    live: Annotated[str, typer.Option("--live", help="Progress view: auto, rich, plain or none.")] = "auto",
    csv_path: Annotated[
        str | None, typer.Option("--csv", help="Also write the per-second timeline (with the HPA) to this CSV file.")
    ] = None,
    report_dir: Annotated[
        str | None,
        typer.Option(
            "--report", metavar="DIR", help="Also write an HTML report (report.html) and the JSON result into DIR."
        ),
    ] = None,
) -> None:
    """Generate load against a tenant and report latency percentiles, errors and the HPA's response."""
    from mlopsctl.errors import MlopsctlError, UsageError, VerificationFailed
    from mlopsctl.output import emit
    from mlopsctl.services import loadtest as service

    current = cli_context.settings(ctx)
    if url and port_forward:
        raise UsageError("--url and --port-forward exclude each other", hint="pick one (or neither: in-cluster)")
    if live not in ("auto", "rich", "plain", "none"):
        raise UsageError(f"invalid --live {live!r}: one of auto, rich, plain, none")
    body_text = None
    if body_file is not None:
        try:
            with open(body_file, encoding="utf-8") as handle:
                body_text = handle.read()
        except OSError as exc:
            raise UsageError(f"cannot read --body-file {body_file}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise UsageError(f"--body-file {body_file}: not UTF-8 text (byte {exc.start})") from None
    options = service.parse_options(
        rate=rate,
        rate_from=rate_from,
        rate_to=rate_to,
        concurrency=concurrency,
        duration=duration,
        requests=requests,
        warmup=warmup,
        mix=mix,
        batch_size=batch_size,
        body_file_text=body_text,
        body_file_name=body_file or "--body-file",
        path=path,
        max_in_flight=max_in_flight,
        connections=connections,
        timeout=timeout,
        workers=workers,
    )
    thresholds = service.parse_slo_option(slo)

    def show(result) -> None:
        if csv_path:
            try:
                write_timeline_csv(result, csv_path)
            except OSError as exc:
                raise UsageError(f"cannot write --csv {csv_path}: {exc.strerror}") from None
        if report_dir:
            from pathlib import Path

            from mlopsctl.services.loadtest_report import write_load_report

            written = write_load_report(result, Path(report_dir))
            cli_context.status(ctx).note(f"report written: {written.describe()}")
        emit(result, current.output, summary_table, color=current.color)

    view = LiveView("null" if live == "none" else live, current.quiet, current.color)
    try:
        if url:
            result = service.run_local(tenant, url, options, on_progress=view.update, slo=thresholds)
        else:
            deps = cli_context.deps(ctx)
            kube = deps.kube()
            if port_forward:
                result = service.run_port_forward(
                    kube,
                    deps.runner(),
                    tenant,
                    options,
                    context=current.context,
                    kubeconfig=current.kubeconfig,
                    on_progress=view.update,
                    slo=thresholds,
                )
            else:
                result = service.run_in_cluster(
                    kube,
                    tenant,
                    options,
                    on_progress=view.update,
                    slo=thresholds,
                    image=image,
                    start_timeout=start_timeout,
                    status=cli_context.status(ctx),
                )
    except service.LoadtestInterrupted as exc:
        view.close()
        show(exc.partial)
        raise
    except MlopsctlError as exc:
        view.close()
        partial = exc.partial
        if partial is not None:
            show(partial)
        raise
    finally:
        view.close()
    show(result)
    breaches = result.slo_breaches()
    if breaches:
        detail = ", ".join(f"{b.threshold} (actual {_fmt(b.actual, ' ' + b.unit, 2)})" for b in breaches)
        raise VerificationFailed(f"SLO breached: {detail}")
