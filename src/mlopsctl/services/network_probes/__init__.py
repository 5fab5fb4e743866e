"""Live NetworkPolicy probing for `verify network`, one job per module:

- `program`: the programs that run inside pods (a batch of socket probes, a listener for the probe pods, a
  `wget` batch for Prometheus pods that have no Python) and the parsing of their JSON-line output;
- `equivalence`: pods with the same labels, policies and ipBlock matches behave alike: probe one of each class;
- `expectations`: the isolation rule each connection is held to, the run's probe pods included, and the static
  judgement of the full matrix;
- `plan`: which probes run, from which source pod, to which target;
- `pods`: the short-lived probe pods (an outsider in a scratch namespace, a later pod in each tenant);
- `execute`: one exec per source pod, sources in parallel, positive controls first, retries for disagreements.
"""
