"""The benchmark run: sandbox, implementations, preflight, warm-up, alternating timed rounds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import implementations as impl
from bench.floor import Answer, FloorConfig
from bench.load import autocannon, measure, set_latency, wait_for_sandbox
from bench.otlp_sink import OtlpSink
from bench.preflight import Preflight
from bench.processes import HOST, Process, wait_until_answers
from bench.results import Case, Measurement
from bench.workloads import ENTITY_CACHE, ENTITY_CACHE_REDIS, RESPONSE_CACHE, Workload, workloads
from sandbox import default_registry


@dataclass(frozen=True, slots=True)
class Options:
    duration_s: float
    warmup_s: float
    rounds: int
    connections: list[int]
    workers: list[int]
    latencies_ms: list[int]
    implementations: list[str]
    workloads: list[str]
    sandbox: impl.SandboxPorts
    ports: dict[str, int]
    runtime: dict[str, Any]
    cache: dict[str, Any]
    out_dir: Path
    telemetry_variants: bool = True
    """Also run the dashboard on Mobius with metrics off, and with every request traced."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    """For `dashboard-warm-redis`; its keys get a prefix of their own per process."""


METRICS_OFF = "mobius-metrics-off"
TRACED = "mobius-traced"
TELEMETRY_VARIANTS = (METRICS_OFF, TRACED)
FLOOR_BYTES = "floor-bytes"
FLOOR_IO = "floor-io"
FLOORS = (FLOOR_BYTES, FLOOR_IO)
VARIANT_PROCESSES = {
    RESPONSE_CACHE: "mobius-cache",
    ENTITY_CACHE: "mobius-warm",
    ENTITY_CACHE_REDIS: "mobius-warm-redis",
}
"""The Mobius process each cache variant of a workload runs on."""
READY_BODY = {"query": "{ __typename }"}
"""What `wait_until_answers` sends: the floors answer it too."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def install_peers() -> None:
    """`npm ci` into bench/peers when node_modules is missing or older than the lock file."""
    marker = impl.PEERS_DIR / "node_modules" / ".package-lock.json"
    lock = impl.PEERS_DIR / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    log("installing the peers from npm into bench/peers (npm ci)")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=impl.PEERS_DIR, check=True)  # noqa: S607


@dataclass
class Started:
    implementation: impl.Implementation
    process: Process
    workloads: list[Workload]


class Bench:
    """One run; collects measurements and the cases that could not be measured (with why)."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.measurements: list[Measurement] = []
        self.unavailable: dict[Case, str] = {}
        self.preflight = Preflight(options.sandbox, options.out_dir)
        self.auth: dict[str, str] = {}
        self.children: list[Process] = []
        self.sandboxes: list[Process] = []
        self.token = ""
        self.sink: OtlpSink | None = None

    def run(self) -> None:
        options = self.options
        options.out_dir.mkdir(parents=True, exist_ok=True)
        for upstream in options.sandbox.names():
            self.sandboxes.append(self.spawn(f"sandbox-{upstream}", self.sandbox_argv(upstream)))
        wait_for_sandbox(self.sandboxes, options.sandbox)
        self.token = impl.identity_token(options.sandbox)
        supergraph = self.compose() if "hive" in options.implementations else None
        try:
            with OtlpSink(HOST) as self.sink:
                for latency in options.latencies_ms:
                    set_latency(options.sandbox.urls(), latency)
                    for workers in options.workers:
                        self.cell(latency, workers, supergraph)
        finally:
            for child in reversed(self.children):
                child.stop()

    def sandbox_argv(self, upstream: str) -> list[str]:
        """One process per upstream: it serves `upstream` on its port, every other on an unused ephemeral port."""
        ports = dict.fromkeys(default_registry().names(), 0)
        ports[upstream] = self.options.sandbox.port(upstream)
        mobius = str(Path(sys.executable).parent / "mobius")
        argv = [mobius, "sandbox", "--host", HOST, "--unsigned-billing"]
        for name, port in ports.items():
            argv += ["--port", f"{name}={port}"]
        return argv

    def spawn(self, name: str, argv: Sequence[str], launch: impl.Launch | None = None) -> Process:
        process = Process(
            name,
            argv,
            env=launch.env if launch else None,
            cwd=launch.cwd if launch else None,
            log=self.options.out_dir / f"{name}.log",
        )
        self.children.append(process)
        return process

    def compose(self) -> Path:
        output = self.options.out_dir / "supergraph.graphql"
        launch = impl.launch_compose(self.options.sandbox, self.token, output)
        log("composing Hive Gateway's supergraph with mesh-compose")
        done = subprocess.run(  # noqa: S603
            launch.argv, env={**os.environ, **launch.env}, cwd=launch.cwd, capture_output=True, timeout=180, check=False
        )
        if done.returncode != 0 or not output.exists():
            raise RuntimeError(f"mesh-compose failed:\n{done.stderr.decode(errors='replace')[-3000:]}")
        return output

    def launches(
        self, workers: int, latency: int, supergraph: Path | None
    ) -> dict[str, tuple[impl.Implementation, impl.Launch]]:
        options = self.options
        sandbox = options.sandbox
        out: dict[str, tuple[impl.Implementation, impl.Launch]] = {}
        for name in options.implementations:
            if name in FLOORS:
                continue
            port = options.ports[name]
            if name == "mobius":
                config = options.out_dir / f"mobius-{workers}.json"
                config.write_text(json.dumps(impl.mobius_config(sandbox, port, options.runtime, {})))
                out[name] = (
                    impl.Implementation(name, port, "full: OAuth2 client credentials, API key + HMAC, bearer"),
                    impl.launch_mobius(config, workers),
                )
            elif name == "yoga":
                out[name] = (
                    impl.Implementation(name, port, "full: OAuth2 client credentials, API key + HMAC, bearer"),
                    impl.launch_yoga(sandbox, port, workers),
                )
            elif name == "hive" and supergraph is not None:
                out[name] = (
                    impl.Implementation(
                        name,
                        port,
                        "relaxed: static identity token fetched by the bench (no OAuth2 flow), billing API key "
                        "without HMAC signature (sandbox --unsigned-billing), bearer",
                    ),
                    impl.launch_hive(sandbox, self.token, supergraph, port, workers),
                )
        if options.telemetry_variants and "mobius" in options.implementations and "dashboard" in options.workloads:
            out.update(self.telemetry_launches(workers))
        out.update(self.cache_launches(workers, latency))
        return out

    def cache_launches(self, workers: int, latency: int) -> dict[str, tuple[impl.Implementation, impl.Launch]]:
        """A Mobius process per cache variant the chosen workloads use: the `cache` settings of
        `--cache-settings` (the response cache), the entity cache in-process, the entity cache in
        Redis (a key prefix of its own)."""
        options, out = self.options, {}
        prefix = f"bench-{os.getpid()}-w{workers}-l{latency}:"
        settings: dict[str, dict[str, Any]] = {
            RESPONSE_CACHE: {"cache": options.cache},
            ENTITY_CACHE: {"cache": {"enabled": True}},
            ENTITY_CACHE_REDIS: {"cache": {"enabled": True}, "redis": {"url": options.redis_url, "key_prefix": prefix}},
        }
        variants = {w.variant for w in workloads() if w.variant and w.name in options.workloads}
        for variant in sorted(variants):
            key = VARIANT_PROCESSES[variant]
            port = options.ports[key]
            config = options.out_dir / f"{key}-{workers}.json"
            config.write_text(json.dumps(impl.mobius_config(options.sandbox, port, options.runtime, settings[variant])))
            out[key] = (impl.Implementation("mobius", port, f"full, {variant}"), impl.launch_mobius(config, workers))
        return out

    def telemetry_launches(self, workers: int) -> dict[str, tuple[impl.Implementation, impl.Launch]]:
        """Mobius with metrics off (the setting), and with every request traced (100% sampling)
        through the OTLP/HTTP exporter to the bench's loopback collector; both with the default
        request log, like ``mobius``."""
        options, out = self.options, {}
        assert self.sink is not None
        variants = {
            METRICS_OFF: ({"telemetry": {"metrics": {"enabled": False}}}, {}),
            TRACED: (
                {},
                {
                    "OTEL_TRACES_EXPORTER": "otlp",
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": self.sink.endpoint,
                    "OTEL_TRACES_SAMPLER": "always_on",
                },
            ),
        }
        for name, (settings, env) in variants.items():
            port = options.ports[name]
            config = options.out_dir / f"{name}-{workers}.json"
            config.write_text(json.dumps(impl.mobius_config(options.sandbox, port, options.runtime, settings)))
            launch = impl.launch_mobius(config, workers)
            out[name] = (
                impl.Implementation(name, port, "full (as mobius)"),
                replace(launch, env={**launch.env, **env}),
            )
        return out

    def cell(self, latency: int, workers: int, supergraph: Path | None) -> None:
        options = self.options
        chosen = [w for w in workloads() if w.name in options.workloads]
        self.preflight.new_cell()
        started: list[Started] = []
        for key, (implementation, launch) in self.launches(workers, latency, supergraph).items():
            mine = workloads_of(key, chosen)
            entry = self.start(key, implementation, launch, mine=mine, workers=workers, latency=latency)
            if entry is not None:
                started.append(entry)
        self.mark_uncached(chosen, workers, latency)
        self.check_answers(started)
        floors = self.start_floors(chosen, workers, latency)
        self.check_answers(floors)
        started += floors
        for entry in started:
            for workload in entry.workloads:
                autocannon(entry.implementation.url, workload, connections=max(options.connections),
                           duration_s=options.warmup_s)  # fmt: skip
        for round_index in range(options.rounds):
            order = rotate(started, round_index)
            for workload in chosen:
                for connections in options.connections:
                    for entry in order:
                        if workload not in entry.workloads:
                            continue
                        case = Case(workload.name, entry.implementation.name, workers, latency, connections)
                        self.measure_one(entry, workload, case, round_index)
        for entry in started:
            entry.process.stop()

    def measure_one(self, entry: Started, workload: Workload, case: Case, round_index: int) -> None:
        workers, latency, connections = case.workers, case.latency_ms, case.connections
        load, figures = measure(
            entry.process, entry.implementation, workload, self.options.sandbox, self.sandboxes,
            connections=connections, duration_s=self.options.duration_s,
        )  # fmt: skip
        log(f"{case.workload:20} {entry.implementation.name:11} w={workers} lat={latency:>2}ms c={connections:<3} "
            f"r{round_index + 1}: {figures['requests_per_s']:7.0f} req/s "
            f"p50 {figures['p50_ms']:6.1f} ms  cpu {figures['cpu_ms_per_request']:6.2f} ms/req "
            f"up {figures['upstream_per_request_under_load']:.2f}")  # fmt: skip
        figures["upstream_per_request"] = self.preflight.exact_upstream[(entry.implementation.name, workload.name)]
        self.measurements.append(Measurement(case, round_index, figures, load.failures))

    def start(
        self,
        key: str,
        implementation: impl.Implementation,
        launch: impl.Launch,
        *,
        mine: list[Workload],
        workers: int,
        latency: int,
    ) -> Started | None:
        self.auth.setdefault(implementation.name, implementation.auth)
        log(f"starting {key} ({workers} worker(s)) on :{implementation.port}")
        process = self.spawn(f"{key}-w{workers}-l{latency}", launch.argv, launch)
        try:
            wait_until_answers(process, implementation.url)
        except RuntimeError as exc:
            log(str(exc))
            for workload in mine:
                for connections in self.options.connections:
                    case = Case(workload.name, implementation.name, workers, latency, connections)
                    self.unavailable[case] = "did not start"
            return None
        return Started(implementation, process, mine)

    def start_floors(self, chosen: list[Workload], workers: int, latency: int) -> list[Started]:
        """`floor-bytes` for every workload Mobius answered, `floor-io` for the cold dashboards; both
        answer Mobius's own bytes."""
        options, answered = self.options, self.preflight.reference_bytes
        wanted = [name for name in FLOORS if name in options.implementations]
        if not wanted:
            return []
        answers = {json.dumps(READY_BODY).encode(): Answer(b'{"data":{"__typename":"Query"}}', None)}
        for workload in chosen:
            body = json.dumps(workload.body()).encode()
            if workload.name in answered and (body not in answers or workload.plan is not None):
                # The cache variants send the cold dashboard's very body: its plan stays.
                answers[body] = Answer(answered[workload.name], workload.plan)
        config = FloorConfig(answers, options.sandbox.urls(), impl.floor_credentials())
        path = options.out_dir / f"floor-w{workers}-l{latency}.json"
        path.write_text(config.to_json(), encoding="utf-8")
        started = []
        for name in wanted:
            if name == FLOOR_IO:
                mine = [w for w in chosen if w.plan is not None and not w.variant and w.name in answered]
                auth = "full: OAuth2 client credentials (one token), API key + HMAC, bearer"
            else:
                mine = [w for w in chosen if w.name in answered]
                auth = "none (no upstream requests)"
            implementation = impl.Implementation(name, options.ports[name], auth)
            launch = impl.launch_floor(name.removeprefix("floor-"), path, implementation.port, workers)
            entry = self.start(name, implementation, launch, mine=mine, workers=workers, latency=latency)
            if entry is not None:
                started.append(entry)
        return started

    def mark_uncached(self, chosen: list[Workload], workers: int, latency: int) -> None:
        for workload in chosen:
            if not workload.variant:
                continue
            for name in self.options.implementations:
                for connections in self.options.connections if name in ("hive", "yoga") else ():
                    case = Case(workload.name, name, workers, latency, connections)
                    self.unavailable[case] = f"not available: Mobius's {workload.variant} only"

    def check_answers(self, started: list[Started]) -> None:
        """Every implementation must answer every workload like Mobius does, with no errors; Mobius
        answers first (its answers are the reference)."""
        for entry in sorted(started, key=lambda s: s.implementation.name != "mobius"):
            for workload in entry.workloads:
                self.preflight.check(entry.implementation.name, entry.implementation.url, workload)


def workloads_of(key: str, chosen: list[Workload]) -> list[Workload]:
    """The workloads a started process serves: the dashboard on a telemetry variant, its own cache
    variant's workloads on a cache variant, the uncached ones on everything else."""
    if key in TELEMETRY_VARIANTS:
        return [w for w in chosen if w.name == "dashboard"]
    if key in VARIANT_PROCESSES.values():
        return [w for w in chosen if w.variant and VARIANT_PROCESSES[w.variant] == key]
    return [w for w in chosen if not w.variant]


def rotate(items: list[Started], shift: int) -> list[Started]:
    if not items:
        return items
    shift %= len(items)
    return items[shift:] + items[:shift]
