"""Each engine's typed config: from the URL, from a `[warehouse]` table, refusals by name."""

from __future__ import annotations

import pytest

from cbi.config import Settings, load_settings
from cbi.errors import SettingsError
from cbi.warehouse import WarehouseError, connect
from cbi.warehouse.bigquery import BigQueryConfig
from cbi.warehouse.duckdb import DuckDBConfig
from cbi.warehouse.engine_config import EngineConfigError, section_to_url


@pytest.mark.parametrize("config", [DuckDBConfig, BigQueryConfig])
def test_every_field_is_documented(config):
    assert all(f.description for f in config.model_fields.values())


def test_duckdb_from_url():
    assert DuckDBConfig.from_url("duckdb:///./cbi.duckdb").path == "./cbi.duckdb"
    assert DuckDBConfig.from_url("duckdb:////var/cbi/cbi.duckdb").path == "/var/cbi/cbi.duckdb"
    assert DuckDBConfig.from_url("duckdb:///:memory:").path == ":memory:"


def test_bigquery_from_url():
    config = BigQueryConfig.from_url(
        "bigquery://cbi-v14?location=EU&endpoint=http://127.0.0.1:9050&grpc=127.0.0.1:9060"
        "&dataset_prefix=demo_")
    assert config == BigQueryConfig(project="cbi-v14", location="EU", endpoint="http://127.0.0.1:9050",
                                    grpc="127.0.0.1:9060", dataset_prefix="demo_")
    plain = BigQueryConfig.from_url("bigquery://cbi-v14")
    assert (plain.location, plain.endpoint, plain.grpc, plain.dataset_prefix) == ("us-central1", None, None, "")


def test_section_fields_override_the_url_options():
    section = {"url": "bigquery://cbi-v14?location=US&dataset_prefix=demo_", "location": "EU"}
    assert section_to_url(section) == "bigquery://cbi-v14?location=EU&dataset_prefix=demo_"
    config = BigQueryConfig.from_url(section_to_url(section))
    assert (config.project, config.location, config.dataset_prefix) == ("cbi-v14", "EU", "demo_")
    assert DuckDBConfig.from_url(section_to_url({"url": "duckdb:///x.duckdb"})).path == "x.duckdb"


def test_a_warehouse_table_in_cbi_toml_becomes_the_url(tmp_path):
    (tmp_path / "cbi.toml").write_text('[warehouse]\nurl = "bigquery://cbi-v14"\nlocation = "EU"\n')
    assert load_settings().warehouse == "bigquery://cbi-v14?location=EU"
    (tmp_path / "cbi.toml").write_text('warehouse = "duckdb:///./w.duckdb"\n')
    assert load_settings().warehouse == "duckdb:///./w.duckdb"  # a URL string, as before
    assert Settings(warehouse={"url": f"duckdb:///{tmp_path}/t.duckdb"}).warehouse == f"duckdb:///{tmp_path}/t.duckdb"


def test_a_warehouse_table_without_url_is_refused(tmp_path):
    (tmp_path / "cbi.toml").write_text('[warehouse]\nlocation = "EU"\n')
    with pytest.raises(SettingsError, match=r"line 1: .*needs url ="):
        load_settings()


@pytest.mark.parametrize(("url", "named"), [
    ("bigquery://cbi-v14?locaton=EU", r"unknown bigquery option 'locaton'; known: location, endpoint, grpc, "
                                      r"dataset_prefix"),
    ("bigquery://cbi-v14?project=other", r"unknown bigquery option 'project' \(it comes from the URL itself"),
    ("duckdb:///x.duckdb?threads=4", r"unknown duckdb option 'threads'; known: \(none\)"),
])
def test_an_unknown_option_is_refused_by_name(url, named):
    with pytest.raises(EngineConfigError, match=named):
        (BigQueryConfig if url.startswith("bigquery") else DuckDBConfig).from_url(url)
    with pytest.raises(WarehouseError, match=named):  # and so is opening it
        connect(url)


@pytest.mark.parametrize(("url", "named"), [
    ("bigquery://cbi-v14?dataset_prefix=demo-", r"dataset_prefix='demo-': use letters, digits and _"),
    ("bigquery://cbi-v14?grpc=localhost", r"grpc='localhost': write HOST:PORT"),
    ("bigquery://cbi-v14?location=eu%20west", r"location='eu west': a BigQuery location"),
    ("bigquery://?location=EU", r"project='': no project in the warehouse URL"),
    ("duckdb:///", r"path='': no file in the warehouse URL"),
])
def test_a_bad_value_is_refused_naming_the_field(url, named):
    with pytest.raises(WarehouseError, match=named):
        connect(url)


def test_a_bad_section_option_is_refused_naming_it():
    with pytest.raises(EngineConfigError, match=r"dataset_prefix='x y'"):
        BigQueryConfig.from_url(section_to_url({"url": "bigquery://p", "dataset_prefix": "x y"}))
    with pytest.raises(EngineConfigError, match=r"\[warehouse\] location = \['EU'\]"):
        section_to_url({"url": "bigquery://p", "location": ["EU"]})


def test_cbi_config_prints_the_url_a_warehouse_table_stands_for(tmp_path):
    import json

    from typer.testing import CliRunner

    from cbi.cli import app

    (tmp_path / "cbi.toml").write_text('[warehouse]\nurl = "bigquery://cbi-v14"\nlocation = "EU"\n'
                                      'dataset_prefix = "demo_"\n')
    result = CliRunner().invoke(app, ["config", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["warehouse"] == "bigquery://cbi-v14?location=EU&dataset_prefix=demo_"
