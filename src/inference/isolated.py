"""Load and verify a model in a child process, and hand the server only its compiled form.

scikit-learn, scipy and skops take about 100 MiB of memory once imported, and the server needs none of them to
predict with a compiled model (see predictor.py). So `serve` loads the artifact in a short-lived child process
(`python -m inference.isolated URI`) that does all the checks (sha256, scikit-learn version, allowed types),
compiles the pipeline and writes the result to stdout: numpy arrays and JSON, never pickle. A pipeline that does
not compile is loaded in the server process instead, as before.

Child exit codes: 0 = compiled model on stdout, 3 = the model was refused (JSON error on stderr),
4 = loaded fine but not compilable.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from inference.artifact import LoadedModel, ModelLoadError

EXIT_REFUSED = 3
EXIT_NOT_COMPILABLE = 4


def load_isolated(uri: str, env: Mapping[str, str], timeout: float = 600.0) -> LoadedModel:
    from inference.loader import loader_for
    from inference.predictor import CompiledModel

    child_env = dict(env)
    package_root = str(Path(__file__).resolve().parent.parent)
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    try:
        child = subprocess.run(
            [sys.executable, "-m", "inference.isolated", uri],
            env=child_env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ModelLoadError(f"loading the model from {uri} took longer than {timeout:.0f}s") from exc
    if child.returncode == 0:
        (length,) = struct.unpack(">Q", child.stdout[:8])
        header = json.loads(child.stdout[8 : 8 + length])
        compiled = CompiledModel.from_bytes(child.stdout[8 + length :])
        return LoadedModel(
            pipeline=None,
            metadata=header["metadata"],
            source=header["source"],
            sha256=header["sha256"],
            compiled=compiled,
        )
    if child.returncode == EXIT_NOT_COMPILABLE:
        return loader_for(uri, env)()
    if child.returncode == EXIT_REFUSED:
        error = json.loads(child.stderr.decode(errors="replace").strip().splitlines()[-1])
        raise ModelLoadError(error["message"], hint=error.get("hint"))
    tail = child.stderr.decode(errors="replace").strip().splitlines()[-3:]
    raise ModelLoadError(f"the model loader process failed (exit {child.returncode}): {' | '.join(tail)}")


def main(argv: list[str]) -> int:
    from inference.loader import loader_for
    from inference.predictor import compile_pipeline

    try:
        model = loader_for(argv[0], os.environ)()
    except ModelLoadError as exc:
        sys.stderr.write(json.dumps({"message": exc.message, "hint": exc.hint}) + "\n")
        return EXIT_REFUSED
    compiled = compile_pipeline(model.pipeline)
    if compiled is None:
        return EXIT_NOT_COMPILABLE
    header = json.dumps({"metadata": model.metadata, "source": model.source, "sha256": model.sha256}).encode()
    out = sys.stdout.buffer
    out.write(struct.pack(">Q", len(header)) + header + compiled.to_bytes())
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
