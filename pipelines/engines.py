"""The local Beam engines that `make runners` installs, and the defaults that let `--runner=NAME` alone use them.

- Prism, Beam's portable local runner (Go), built with `go build` from the Go module of the Beam
  release the Python SDK is (setup.py pins it), with the patches in `pipelines/patches/` applied
  (`git apply`) and the patched packages' tests run first;
- Flink's and Spark's job servers, from Maven with Maven's own client (`mvn dependency:copy-dependencies`):
  the Beam runner library with its dependencies, started through a manifest-only jar (its `Main-Class`
  is the runner's job-server driver, its `Class-Path` the copied jars). Beam's ready-made shadow jars
  (`beam-runners-flink-1.19-job-server`, `beam-runners-spark-3-job-server`) are not served by the
  Maven registry these machines reach, at any release from 2.50 to 2.77, so they are assembled here.

They go into a cache outside the repo (`$CORPUSBEAM_CACHE`, else `$XDG_CACHE_HOME/corpusbeam`, else
`~/.cache/corpusbeam`), with `engines.json` saying what was installed and, for what could not be, the
client's own words. A run never downloads anything: a runner whose engine is not installed is refused
with the command to run.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

__all__ = [
    "BEAM_VERSION",
    "EngineMissing",
    "JAR_ENGINES",
    "BEAM_GO_MODULE",
    "cache_dir",
    "class_archive",
    "install",
    "installed",
    "java_binary",
    "prism_binary",
]

logger = logging.getLogger(__name__)

BEAM_VERSION = version("apache-beam")
BEAM_GO_MODULE = "github.com/apache/beam/sdks/v2"
_PRISM_PACKAGE = "./go/cmd/prism"
# Fixes to Prism, each a `git diff` from the Go module's root with a note on top (setup.py ships them
# as package data); the binary's folder is named after their digest, so a changed patch builds anew.
PRISM_PATCHES = (Path(__file__).parent / "patches" / "prism-metrics-before-short-ids.patch",)
_STATE_FILE = "engines.json"

# The Java half of Beam. Its runner libraries resolve with all their dependencies from the Maven
# registry here at 2.62.0 and at no later release: 2.63-2.69 and 2.71-2.77 are not served, and
# 2.70.0 lacks beam-runners-java-job-service. A 2.62 job service runs this 2.77 SDK's pipelines
# (the Fn API and the job API are stable across them): tests/runners/test_engines.py checks every engine's
# tables against the in-memory run's. Move it to the SDK's release once that release resolves.
JAVA_BEAM_VERSION = "2.62.0"
FLINK_VERSION = "1.19"  # the newest Flink whose Beam runner resolves at JAVA_BEAM_VERSION
_SPARK_VERSION = "3.5.1"  # Beam's Spark runner leaves Spark to the job server (scope provided)


@dataclass(frozen=True)
class JarEngine:
    """A Java engine: the Maven artifacts of its job server, its driver class, the runner flag that
    takes the jar, and the JVM module openings it needs on Java 17 (Spark's)."""

    artifacts: tuple[str, ...]
    main_class: str
    jar_flag: str
    opens: tuple[str, ...] = ()


JAR_ENGINES = {
    # Flink 1.19: the runner declares Flink itself as a compile dependency, mini-cluster included.
    "flink": JarEngine(
        (f"org.apache.beam:beam-runners-flink-{FLINK_VERSION}:{JAVA_BEAM_VERSION}", "org.slf4j:slf4j-simple:1.7.30"),
        "org.apache.beam.runners.flink.FlinkJobServerDriver",
        "flink_job_server_jar",
    ),
    "spark": JarEngine(
        (
            f"org.apache.beam:beam-runners-spark-3:{JAVA_BEAM_VERSION}",
            f"org.apache.spark:spark-core_2.12:{_SPARK_VERSION}",
            f"org.apache.spark:spark-streaming_2.12:{_SPARK_VERSION}",
            f"org.apache.spark:spark-sql_2.12:{_SPARK_VERSION}",
            "org.slf4j:slf4j-api:2.0.7",  # what Spark's log4j binding needs, not the runner's 1.7
        ),
        "org.apache.beam.runners.spark.SparkJobServerDriver",
        "spark_job_server_jar",
        tuple(
            f"java.base/{package}"
            for package in (
                "java.lang",
                "java.lang.invoke",
                "java.lang.reflect",
                "java.io",
                "java.net",
                "java.nio",
                "java.util",
                "java.util.concurrent",
                "java.util.concurrent.atomic",
                "jdk.internal.ref",
                "sun.nio.ch",
                "sun.nio.cs",
                "sun.security.action",
                "sun.util.calendar",
            )
        )
        + ("java.security.jgss/sun.security.krb5",),
    ),
}


class EngineMissing(RuntimeError):
    """The runner's engine is not installed here; the message says how to install it."""


def cache_dir() -> Path:
    """Where engines are installed: outside the repo, shared by every clone on the machine."""
    explicit = os.environ.get("CORPUSBEAM_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "corpusbeam"


@functools.cache
def _patches_digest() -> str:
    """Read once: `prism_binary()` is asked for on every run's defaults."""
    digest = hashlib.sha256()
    for patch in PRISM_PATCHES:
        digest.update(patch.read_bytes())
    return digest.hexdigest()[:12]


def prism_binary() -> Path:
    return cache_dir() / "prism" / f"v{BEAM_VERSION}-{_patches_digest()}" / "prism"


def jar_path(engine: str) -> Path:
    """The job server's launcher jar; its libraries are in `lib/` beside it."""
    return cache_dir() / "jobservers" / f"{engine}-{JAVA_BEAM_VERSION}" / f"{engine}-job-server.jar"


def _state() -> dict:
    path = cache_dir() / _STATE_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def installed(engine: str) -> Path:
    """The installed binary or jar of `engine` ('prism', 'flink', 'spark'); raises EngineMissing."""
    path = prism_binary() if engine == "prism" else jar_path(engine)
    if path.is_file():
        return path
    why = _state().get(engine, {}).get("error")
    hint = f" The last `make runners` could not install it: {why}" if why else ""
    raise EngineMissing(
        f"the {engine} engine is not installed at {path}: run `make runners` first "
        f"(it needs the Go toolchain for Prism and Maven for the job-server jars).{hint}"
    )


def _call(
    cmd: list[str], env: dict[str, str] | None = None, timeout: float = 1800, cwd: Path | None = None
) -> subprocess.CompletedProcess | str:
    """Run an installer's client: its finished process, or why it could not run."""
    try:
        return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{type(err).__name__}: {err}"


def _last_lines(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return " / ".join(lines[-3:])


def _run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 1800, cwd: Path | None = None) -> tuple[bool, str]:
    """Run an installer's client; (ok, the last lines it printed)."""
    done = _call(cmd, env, timeout, cwd)
    if isinstance(done, str):
        return False, done
    return done.returncode == 0, _last_lines(done)


def _patched_packages() -> list[str]:
    """The Go packages (`./dir`) whose files the patches change: their tests run before the build."""
    folders = set()
    for patch in PRISM_PATCHES:
        for line in patch.read_text().splitlines():
            if line.startswith("+++ b/"):
                folders.add("./" + str(Path(line.removeprefix("+++ b/")).parent))
    return sorted(folders)


def _download_go_module(module: str) -> Path | str:
    """The folder of `module@version` in Go's module cache, downloaded if need be; or what went wrong."""
    done = _call(["go", "mod", "download", "-json", module])
    if isinstance(done, str):
        return done
    try:
        return Path(json.loads(done.stdout)["Dir"])
    except (ValueError, KeyError):
        return _last_lines(done)


def _install_prism() -> dict:
    target = prism_binary()
    done = {"path": str(target), "version": BEAM_VERSION, "patches": [patch.name for patch in PRISM_PATCHES]}
    if target.is_file():
        return done
    for tool in ("go", "git"):
        if not shutil.which(tool):
            return {"error": f"no `{tool}` on PATH (Prism is built from Beam's Go module, patched with `git apply`)"}
    target.parent.mkdir(parents=True, exist_ok=True)
    module = f"{BEAM_GO_MODULE}@v{BEAM_VERSION}"
    cached = _download_go_module(module)
    if isinstance(cached, str):
        return {"error": f"go mod download {module} failed: {cached}"}
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        # The module cache is read-only and Go refuses overlays into it: the Go half of the module
        # (go.mod, go.sum and go/; not its java/, python/, typescript/) is copied and patched.
        source = Path(work) / "sdks"
        source.mkdir()
        for name in ("go.mod", "go.sum"):
            shutil.copyfile(cached / name, source / name)
        shutil.copytree(cached / "go", source / "go", copy_function=shutil.copyfile)
        for folder, _, _ in os.walk(source):
            os.chmod(folder, 0o755)  # copytree keeps the cache's read-only folders
        # Git must not take a repository around the cache for this folder's (it would skip the patch).
        env = {**os.environ, "GOWORK": "off", "GOFLAGS": "-mod=readonly", "GIT_CEILING_DIRECTORIES": work}
        for cmd in (
            ["git", "apply", "--whitespace=nowarn", *map(str, PRISM_PATCHES)],
            ["go", "test", *_patched_packages()],
            ["go", "build", "-trimpath", "-o", str(Path(work) / "prism"), _PRISM_PACKAGE],
        ):
            ok, said = _run(cmd, env=env, cwd=source)
            if not ok:
                return {"error": f"{' '.join(cmd[:2])} in {module} failed: {said}"}
        os.replace(Path(work) / "prism", target)  # whole or not at all: a cut build leaves no binary
    return done


def _pom(engine: str) -> str:
    """A Maven project whose only content is the job server's dependencies."""
    deps = []
    for coordinate in JAR_ENGINES[engine].artifacts:
        group, artifact, ver = coordinate.split(":")
        deps.append(
            f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{ver}</version></dependency>"
        )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        f"<groupId>corpusbeam.engines</groupId><artifactId>{engine}-job-server</artifactId><version>1</version>"
        f"<packaging>pom</packaging><dependencies>{''.join(deps)}</dependencies></project>\n"
    )


def _manifest(spec: JarEngine, jars: list[str]) -> bytes:
    """A jar manifest (lines of at most 72 bytes) that starts the driver with `lib/*.jar` on its class path."""
    fields = [("Manifest-Version", "1.0"), ("Main-Class", spec.main_class), ("Class-Path", " ".join(f"lib/{j}" for j in jars))]
    if spec.opens:
        fields += [("Add-Opens", " ".join(spec.opens)), ("Add-Exports", " ".join(spec.opens))]
    lines = []
    for key, value in fields:
        raw = f"{key}: {value}".encode()
        lines.append(raw[:72])
        lines += [b" " + raw[i : i + 71] for i in range(72, len(raw), 71)]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _install_jar(engine: str) -> dict:
    target = jar_path(engine)
    if target.is_file():
        return {"path": str(target), "version": JAVA_BEAM_VERSION}
    if not shutil.which("mvn"):
        return {"error": "no `mvn` on PATH (the job servers come from Maven)"}
    spec = JAR_ENGINES[engine]
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent.parent) as work:
        folder = Path(work) / "server"
        (Path(work) / "pom.xml").write_text(_pom(engine))
        cmd = ["mvn", "-q", "-B", "-f", str(Path(work) / "pom.xml"), "dependency:copy-dependencies"]
        ok, said = _run([*cmd, f"-DoutputDirectory={folder / 'lib'}", "-DincludeScope=runtime"], timeout=1800)
        jars = sorted(p.name for p in (folder / "lib").glob("*.jar")) if ok else []
        if not jars:
            return {"error": f"`mvn dependency:copy-dependencies` of {', '.join(spec.artifacts)} failed: {said}"}
        with zipfile.ZipFile(folder / target.name, "w") as launcher:
            launcher.writestr("META-INF/MANIFEST.MF", _manifest(spec, jars))
        shutil.rmtree(target.parent, ignore_errors=True)
        os.replace(folder, target.parent)  # whole or not at all
    return {"path": str(target), "version": JAVA_BEAM_VERSION}


def java_binary() -> str | None:
    """The `java` Beam starts a job server with: $JAVA_HOME's, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    return shutil.which(os.path.join(home, "bin", "java") if home else "java")


def class_archive(engine: str) -> Path | None:
    """Where the job server's class-data archive for this `java` goes, whether it is there or not
    (None without a `java`). An archive maps only into the JVM that wrote it, so its name holds that
    JVM's identity: its launcher and libjvm, their paths, sizes and times."""
    java = java_binary()
    if java is None:
        return None
    launcher = Path(java).resolve()
    identity = hashlib.sha256()
    for path in (launcher, launcher.parent.parent / "lib" / "server" / "libjvm.so"):
        if path.is_file():
            stat = path.stat()
            identity.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return jar_path(engine).parent / f"classes-{identity.hexdigest()[:12]}.jsa"


# Words of the small corpus whose run records the classes a job server loads: sentences of them pass the
# quality rules, and each document has a near copy, so the run goes through every stage of the graph.
_TRAINING_WORDS = (
    "the of and to that have with be river city garden market winter letter music road history village "
    "station morning window season island harbour bridge valley forest meadow lantern journey painter"
).split()
_TRAINING_PAIRS = 100


def _training_corpus() -> str:
    rng = random.Random(0)
    records = []
    for i in range(_TRAINING_PAIRS):
        sentences = [" ".join(rng.choices(_TRAINING_WORDS, k=12)).capitalize() + "." for _ in range(8)]
        text = " ".join(sentences)
        records += [{"id": f"{i}", "text": text}, {"id": f"{i}-copy", "text": text + " It ends here."}]
    return "".join(json.dumps(record) + "\n" for record in records)


def _archive_classes(engine: str) -> dict[str, str]:
    """Writes the job server's class-data archive (AppCDS) of the classes a small corpusbeam run on
    the engine loads: the run lists them (-XX:DumpLoadedClassList), then `java -Xshare:dump` archives
    them. A JVM that maps the archive skips reading, verifying and linking them from the jars.
    Returns what `engines.json` records: the archive's path, or why there is none (nothing without a `java`).

    Not an archive the job server dumps when it exits (-XX:ArchiveClassesAtExit): Beam stops it with
    SIGINT and kills it 5 s later, before Spark's had been written. The archive is put in place only
    once a JVM has mapped it with -Xshare:on: a truncated one kills the JVM (SIGBUS) whatever -Xshare says."""
    target, java = class_archive(engine), java_binary()
    if target is None or java is None:
        return {}
    if target.is_file():
        return {"class_archive": str(target)}
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        corpus, listed, candidate = Path(work) / "corpus.jsonl", Path(work) / "classes.txt", Path(work) / target.name
        corpus.write_text(_training_corpus())
        run = [sys.executable, "-m", "pipelines.cli", "--quiet", "run", "--input", str(corpus)]
        run += ["--output", str(Path(work) / "out"), f"--runner={engine.capitalize()}Runner"]
        ok, said = _run([*run, f"--job_server_jvm_property=-XX:DumpLoadedClassList={listed}"], timeout=900)
        if not ok or not listed.is_file():
            return {"class_archive_error": f"the run that lists its classes failed: {said}"}
        classpath = ["-cp", str(jar_path(engine))]
        dump = [java, "-Xshare:dump", f"-XX:SharedClassListFile={listed}", f"-XX:SharedArchiveFile={candidate}"]
        ok, said = _run([*dump, *classpath], timeout=900)
        if ok:
            ok, said = _run([java, f"-XX:SharedArchiveFile={candidate}", "-Xshare:on", *classpath, "-version"], timeout=120)
        if not ok:
            return {"class_archive_error": f"`java -Xshare:dump` gave no archive a JVM maps: {said}"}
        os.replace(candidate, target)
    for stale in target.parent.glob("classes-*.jsa"):  # another JVM's: none maps into this one
        if stale != target:
            stale.unlink()
    return {"class_archive": str(target)}


def install(engines: list[str]) -> dict:
    """Install each engine that is not there yet; returns and records what each one is now."""
    state = _state()
    for engine in engines:
        state[engine] = _install_prism() if engine == "prism" else _install_jar(engine)
        if engine in JAR_ENGINES and "path" in state[engine]:
            state[engine].update(_archive_classes(engine))
    path = cache_dir() / _STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2) + "\n")
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="install the local Beam engines into " + str(cache_dir()))
    parser.add_argument("engines", nargs="*", metavar="ENGINE", help="prism, flink, spark (default: all)")
    parser.add_argument("--require", action="append", default=[], help="fail when this engine could not be installed")
    args = parser.parse_args(argv)
    args.engines = args.engines or ["prism", *JAR_ENGINES]
    unknown = set(args.engines + args.require) - {"prism", *JAR_ENGINES}
    if unknown:
        parser.error(f"unknown engine {sorted(unknown)}: choose from prism, {', '.join(JAR_ENGINES)}")
    state = install(args.engines)
    for engine in args.engines:
        entry = state[engine]
        print(f"{engine:6s} {entry['path'] if 'path' in entry else 'NOT INSTALLED: ' + entry['error']}")
    missing = [engine for engine in args.require if "path" not in state.get(engine, {})]
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
