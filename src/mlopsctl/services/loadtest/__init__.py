"""Load tests of a tenant: in the cluster (an Indexed Job next to the tenant's pods), from the host (`--url`), or
through `kubectl port-forward` (one pod only), with the HPA watched while the load runs.

The engine is `inference.loadgen` in every mode; in the cluster it runs from the platform image (else the
tenant's), and each worker streams one JSON line per second through its pod's log, which becomes `Progress`
callbacks and, at the end, a `LoadtestResult` whose report merges every worker's HDR histograms exactly. The
Job (and the NetworkPolicy that lets it reach the inference pods) is deleted when the run ends, fails, or is
interrupted.

For `verify autoscaling --load` (or any caller) the entry point is `run_in_cluster`:

    result = run_in_cluster(kube, "tenant-a", LoadOptions(rate=300, duration=180), on_progress=callback)

`callback(progress)` is called once a second: while the Job's pods start (phase "starting"), then for every
second of load (progress.hpa holds the HPA's replicas and CPU at that moment); returning True ends the load
early (the Job is deleted, `result.stopped_early` is set).

Modules, one use case each: options (what to run), in_cluster + pods (the Job), local (--url, N processes),
port_forward, hpa (the HPA watch), merge (several workers followed and merged), quota (the headroom check).
"""

from __future__ import annotations

from mlopsctl.services.loadtest.hpa import HpaWatcher, hpa_sample
from mlopsctl.services.loadtest.in_cluster import IN_CLUSTER_CONNECT_WAIT, START_LEAD_SECONDS, run_in_cluster
from mlopsctl.services.loadtest.local import run_local
from mlopsctl.services.loadtest.options import DEFAULT_SLO, LoadOptions, parse_options, parse_slo_option
from mlopsctl.services.loadtest.pods import wait_for_pod, wait_for_pods
from mlopsctl.services.loadtest.port_forward import (
    PORT_FORWARD_NOTE,
    free_local_port,
    port_forward_argv,
    run_port_forward,
)
from mlopsctl.services.loadtest.results import HpaSample, LoadtestInterrupted, LoadtestResult, Progress
from mlopsctl.services.loadtest.target import TenantTarget, find_target, service_url

__all__ = [
    "DEFAULT_SLO",
    "IN_CLUSTER_CONNECT_WAIT",
    "PORT_FORWARD_NOTE",
    "START_LEAD_SECONDS",
    "HpaSample",
    "HpaWatcher",
    "LoadOptions",
    "LoadtestInterrupted",
    "LoadtestResult",
    "Progress",
    "TenantTarget",
    "find_target",
    "free_local_port",
    "hpa_sample",
    "parse_options",
    "parse_slo_option",
    "port_forward_argv",
    "run_in_cluster",
    "run_local",
    "run_port_forward",
    "service_url",
    "wait_for_pod",
    "wait_for_pods",
]
