"""Drive real kernels and notebooks from tests (no mocked shells)."""

from __future__ import annotations

import os
import queue
import time
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def kernel_env(cwd: Path, notebook: str | None, extra: dict | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NOTELOCK_NOTEBOOK", None)
    env.pop("JPY_SESSION_NAME", None)
    if notebook is not None:
        env["JPY_SESSION_NAME"] = str(Path(cwd) / notebook)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env.update(extra or {})
    return env


def run_notebook(path: Path, *, env: dict | None = None, allow_errors: bool = False,
                 timeout: int = 600, save: bool = True) -> nbformat.NotebookNode:
    """Execute *path* in a fresh kernel in its folder, as JupyterLab would
    (the session path set), save the executed notebook back (unless *save* is
    false), and return it."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=kernel_env(path.parent, path.name, env), cwd=str(path.parent))
    if save:
        nbformat.write(nb, path)
    return nb


def outputs_text(nb: nbformat.NotebookNode) -> str:
    """Everything the notebook's cells printed or displayed, as one string."""
    import json

    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(json.dumps(out, ensure_ascii=False))
    return "\n".join(parts)


class Kernel:
    """A real IPython kernel with a blocking ``run``."""

    def __init__(self, cwd: Path, notebook: str | None = "scratch.ipynb", env: dict | None = None):
        self.cwd = Path(cwd)
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=kernel_env(self.cwd, notebook, env), cwd=str(self.cwd))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 300) -> dict[str, Any]:
        """Execute *code*; return status, error name, stdout, stderr, and display data."""
        msg_id = self.kc.execute(code)
        out: dict[str, Any] = {"status": None, "ename": None, "evalue": None, "stdout": "", "stderr": "",
                               "data": [], "traceback": ""}
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=timeout)
            except queue.Empty as err:
                raise TimeoutError(f"no output from kernel for {code[:40]!r}") from err
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out[content["name"]] += content["text"]
            elif kind in ("execute_result", "display_data"):
                out["data"].append(content["data"])
            elif kind == "error":
                out["ename"], out["evalue"] = content["ename"], content["evalue"]
                out["traceback"] = "\n".join(content["traceback"])
            elif kind == "status" and content["execution_state"] == "idle":
                break
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:  # a stale reply from an earlier request
            reply = self.kc.get_shell_msg(timeout=timeout)
        out["status"] = reply["content"]["status"]
        # help (`%lock?`) arrives as a pager payload on the reply
        out["page"] = "".join(p.get("data", {}).get("text/plain", "")
                              for p in reply["content"].get("payload", []) if p.get("source") == "page")
        return out

    def ok(self, code: str, timeout: float = 300) -> dict[str, Any]:
        """Execute *code* and fail loudly if it raised.

        A request the kernel aborted unrun is sent again: right after a cell
        failed (an interrupt, say), ipykernel aborts what arrives while it
        clears its queue."""
        out = self.run(code, timeout)
        for _ in range(3):
            if out["status"] != "aborted":
                break
            time.sleep(0.2)
            out = self.run(code, timeout)
        if out["status"] != "ok":
            raise AssertionError(f"cell failed: {out['ename']}: {out['evalue']}\n{out['traceback']}")
        return out

    def value(self, expr: str) -> Any:
        """The value of a Python literal-producing expression in the kernel."""
        import ast

        out = self.ok(f"print(repr({expr}))")
        return ast.literal_eval(out["stdout"].strip().splitlines()[-1])

    def shutdown(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=False)
