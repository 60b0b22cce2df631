"""The many-machines deployment files say what the code reads: every ARREARS_* they set is a
setting, every entrypoint a flow, and the image carries every package the project installs."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import yaml

from arrears.settings import Settings

HERE = Path(__file__).resolve().parent.parent / "deployments" / "many-machines"


def _settings_names() -> set[str]:
    return {f"ARREARS_{name.upper()}" for name in Settings.model_fields}


def test_the_kubernetes_deployments_run_real_flows_with_real_settings_on_dask():
    spec = yaml.safe_load((HERE / "prefect.yaml").read_text(encoding="utf-8"))
    for deployment in spec["deployments"]:
        module, _, name = deployment["entrypoint"].partition(":")
        assert hasattr(importlib.import_module(module.removesuffix(".py").replace("/", ".")), name)
        env = deployment["work_pool"]["job_variables"]["env"]
        assert {k for k in env if k.startswith("ARREARS_")} <= _settings_names()
    daily = next(d for d in spec["deployments"] if d["name"] == "daily")
    assert daily["work_pool"]["job_variables"]["env"]["ARREARS_RUNNER"] == "dask"


def test_the_image_carries_every_package_and_the_lock():
    dockerfile = (HERE / "Dockerfile").read_text(encoding="utf-8")
    project = Path(__file__).resolve().parent.parent / "pyproject.toml"
    packages = re.search(r'include = \[(.*?)\]', project.read_text(encoding="utf-8")).group(1)  # type: ignore[union-attr]
    for package in re.findall(r'"(\w+)\*"', packages):
        assert f"COPY {package} {package}" in dockerfile
    assert "COPY templates templates" in dockerfile and "requirements.lock" in dockerfile
    assert not re.search(r"(?i)(token|secret|password|api_key)\s*=", dockerfile)  # no credentials baked in


def test_the_dask_cluster_files_name_workers_with_one_thread_and_the_scheduler_port():
    cluster = yaml.safe_load((HERE / "dask-cluster.yaml").read_text(encoding="utf-8"))
    (worker,) = cluster["spec"]["worker"]["spec"]["containers"]
    assert worker["args"][:4] == ["dask", "worker", "--nthreads", "1"]
    compose = yaml.safe_load((HERE / "docker-compose.yml").read_text(encoding="utf-8"))
    assert "tcp://dask-scheduler:8786" in compose["services"]["dask-worker"]["command"]
