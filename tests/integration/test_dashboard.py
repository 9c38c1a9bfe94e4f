"""The Grafana dashboard (deploy/grafana/, contract §15): every panel's query, its template
variables set to match all, is evaluated by `promtool test rules` (`promql_expr_test`) as
`absent(<query>)` expecting no sample, against the series of a metrics file `run` wrote. A
renamed series, or a panel over a series the product does not write on every run, fails here."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.tools import require_tool
from tests.integration.test_metrics_file import DAY, job, run  # noqa: F401 (fixture)

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "mnaas-missing-files.dashboard.json"
MATCH_ALL = {"$job": ".*", "${job}": ".*"}


def panel_queries() -> dict[str, str]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = {}
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in MATCH_ALL.items():
                expr = expr.replace(variable, value)
            queries[f"{panel['title']} ({target['refId']})"] = expr
    return queries


def series_of(metrics_file: Path) -> list[dict]:
    """promtool's input series: each sample of the file, as node_exporter exposes it."""
    found = []
    for family in text_string_to_metric_families(metrics_file.read_text()):
        for sample in family.samples:
            labels = {**sample.labels, "instance": "ctl:9100", "job": "node"}
            selector = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            found.append({"series": f"{sample.name}{{{selector}}}", "values": f"{sample.value:g}x20"})
    return found


def test_the_dashboard_uses_only_variables_the_test_sets():
    text = DASHBOARD.read_text()
    names = {v["name"] for v in json.loads(text)["templating"]["list"]}
    assert names == {"datasource", "job"}
    assert panel_queries() and all("$" not in q for q in panel_queries().values())


@pytest.mark.promtool
def test_every_panel_query_returns_series_from_a_metrics_file_the_product_wrote(job, tmp_path):
    promtool = require_tool("promtool", "prometheus")
    assert run(job, DAY).returncode == 0
    queries = panel_queries()
    test = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series_of(job.metrics),
                "promql_expr_test": [
                    {"expr": f"absent({query})", "eval_time": "10m", "exp_samples": []} for query in queries.values()
                ],
            }
        ],
    }
    path = tmp_path / "dashboard.test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

    # The check can fail: a query over a series no metrics file has is reported by name.
    test["tests"][0]["promql_expr_test"] = [
        {"expr": "absent(mnaas_missing_files_renamed_series)", "eval_time": "10m", "exp_samples": []}
    ]
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    broken = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=120)
    assert broken.returncode != 0 and "mnaas_missing_files_renamed_series" in broken.stdout + broken.stderr
