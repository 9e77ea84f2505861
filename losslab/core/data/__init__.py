"""Datasets: built-in generators, CSV import, and the Dataset container a model trains on. numpy only."""

from losslab.core.data.csv_import import CsvTable, load_csv, read_csv_table
from losslab.core.data.dataset import Dataset
from losslab.core.data.registry import (
    COMMON_PARAMS,
    CSV_KIND,
    DATASETS,
    DatasetSpec,
    dataset_params,
    get_dataset_spec,
    make_dataset,
    validate_dataset_config,
)

__all__ = [
    "COMMON_PARAMS",
    "CSV_KIND",
    "DATASETS",
    "CsvTable",
    "Dataset",
    "DatasetSpec",
    "dataset_params",
    "get_dataset_spec",
    "load_csv",
    "make_dataset",
    "read_csv_table",
    "validate_dataset_config",
]
