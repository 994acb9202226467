"""A real single-node Apache Kafka broker for tests, benchmarks and demos.

Fetches ``org.apache.kafka:kafka_2.13`` from Maven Central with Maven into a cache directory
(``~/.cache/strom/kafka`` or ``$STROM_KAFKA_CACHE``; reused between runs), formats a KRaft
data directory and runs a combined broker + controller bound to 127.0.0.1. Needs ``java`` (17+)
and ``mvn`` on the PATH.

From the command line (``scripts/kafka`` wraps this)::

    python -m strom.connectors.kafka.broker start [--port 9092] [--dir DIR]
    python -m strom.connectors.kafka.broker status | stop

From Python::

    with KafkaBroker() as broker:          # a free port, a temporary data directory
        broker.bootstrap_servers           # "127.0.0.1:<port>"

``start`` waits until the broker is ready and warms it up (one consumer group, one
``init_transactions``): on a brand-new broker the first group takes ~3 s and the first
transaction ~2 s, which would otherwise land in whichever test comes first.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from strom.errors import StromError

KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"
DEPENDENCY_PLUGIN = "3.8.1"  # Maven 3.8 would otherwise pick 2.8, which lacks what we use
DEFAULT_CACHE = Path(os.environ.get("STROM_KAFKA_CACHE", Path.home() / ".cache" / "strom" / "kafka"))
STATE_FILE = "broker.json"  # in the data directory of a broker started from the command line

_POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>strom</groupId><artifactId>kafka-test-broker</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>{LOG4J_VERSION}</version></dependency>
  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId>
    <version>{DEPENDENCY_PLUGIN}</version>
  </plugin></plugins></build>
</project>
"""

_LOG4J2 = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <File name="file" fileName="${sys:kafka.logs.dir}/server.log">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Logger name="kafka.server.KafkaRaftServer" level="INFO"/>
    <Logger name="kafka.server.BrokerServer" level="INFO"/>
    <Root level="WARN"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
"""


# Stops a broker whose owner died without stopping it (a test run killed by a timeout): polls
# the owner's pid once a second; ends when the broker ends.
_WATCHDOG = """
import os, signal, sys, time
owner, broker = int(sys.argv[1]), int(sys.argv[2])
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
while alive(broker):
    time.sleep(1)
    if not alive(owner):
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(broker, sig)
            except ProcessLookupError:
                sys.exit(0)
            for _ in range(wait * 10):
                if not alive(broker):
                    sys.exit(0)
                time.sleep(0.1)
"""


class BrokerError(StromError):
    """The test broker could not be installed, started or stopped."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def install(cache: Path = DEFAULT_CACHE) -> Path:
    """The directory of Kafka's jars, fetched with Maven on first use (then reused)."""
    libs = cache / f"kafka-{KAFKA_VERSION}" / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            raise BrokerError(f"the Kafka test broker needs '{tool}' on the PATH; hint: install "
                              "a JDK 17+ and Apache Maven 3.8+ (e.g. apt-get install "
                              "openjdk-17-jre-headless maven)")
    work = cache / f"kafka-{KAFKA_VERSION}"
    work.mkdir(parents=True, exist_ok=True)
    (work / "pom.xml").write_text(_POM, encoding="utf-8")
    tmp = work / "libs.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    proc = subprocess.run(
        ["mvn", "-q", "-B", "-f", str(work / "pom.xml"),
         f"org.apache.maven.plugins:maven-dependency-plugin:{DEPENDENCY_PLUGIN}:copy-dependencies",
         f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"],
        capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise BrokerError(f"fetching org.apache.kafka:kafka_2.13:{KAFKA_VERSION} with Maven failed "
                          f"(exit {proc.returncode}): {(proc.stdout + proc.stderr)[-2000:]}; hint: "
                          "Maven Central must be reachable (or the jars already in ~/.m2)")
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    (libs / "log4j2.xml").write_text(_LOG4J2, encoding="utf-8")
    marker.write_text(KAFKA_VERSION, encoding="utf-8")
    return libs


def _server_properties(data: Path, port: int, controller_port: int) -> str:
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={data / 'logs'}",
        "num.partitions=1",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=4",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "transaction.state.log.num.partitions=4",
        "group.initial.rebalance.delay.ms=0",
        "broker.session.timeout.ms=3000",
        "broker.heartbeat.interval.ms=1000",
        "auto.create.topics.enable=true",
        "log.retention.hours=1",
        "",
    ])


class KafkaBroker:
    """One broker process (start, wait until ready, warm up, stop).

    Args:
        port: the PLAINTEXT port (default: a free one).
        data_dir: where the KRaft metadata and the logs live (default: a temporary directory,
            removed by :meth:`stop`); a broker restarted on the same directory keeps its topics.
        cache: the jar cache.
    """

    def __init__(self, port: int | None = None, data_dir: str | Path | None = None,
                 cache: Path = DEFAULT_CACHE) -> None:
        self.port = port or free_port()
        self.controller_port = free_port()
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="strom-kafka-"))
        self.cache = cache
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap_servers(self) -> str:
        """``127.0.0.1:<port>``, for ``bootstrap.servers``."""
        return f"127.0.0.1:{self.port}"

    def _java(self, main: str, *args: str) -> list[str]:
        libs = install(self.cache)
        return ["java", "-Xmx512m", "-Xms128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                f"-Dlog4j2.configurationFile={libs / 'log4j2.xml'}",
                f"-Dkafka.logs.dir={self.data_dir}", "-cp", str(libs / "*"), main, *args]

    def _format(self) -> None:
        props = self.data_dir / "server.properties"
        props.write_text(_server_properties(self.data_dir, self.port, self.controller_port),
                         encoding="utf-8")
        if (self.data_dir / "logs" / "meta.properties").exists():
            return  # formatted before: a restart keeps the data
        cid = "-"
        while not cid[0].isalnum():  # an id starting with "-" would be read as an option
            cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        proc = subprocess.run(self._java("kafka.tools.StorageTool", "format", "-t", cid, "-c",
                                         str(props), "--standalone"),
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise BrokerError(f"formatting the Kafka data directory {self.data_dir} failed: "
                              f"{(proc.stdout + proc.stderr)[-2000:]}")

    def start(self, timeout: float = 60.0, warm_up: bool = True, outlive_owner: bool = False
              ) -> KafkaBroker:
        """Start the broker and return once it serves requests (and is warmed up). Unless
        ``outlive_owner``, a watchdog stops it if this process dies without stopping it."""
        if port_open(self.port):
            raise BrokerError(f"cannot start a Kafka broker on 127.0.0.1:{self.port}: the port is "
                              "in use; hint: stop what listens there or pick another port")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._format()
        log = open(self.data_dir / "stdout.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            self._java("kafka.Kafka", str(self.data_dir / "server.properties")),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()
        if not outlive_owner:
            subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(self.process.pid)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        server_log = self.data_dir / "server.log"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.data_dir / "stdout.log").read_text(errors="replace")[-2000:]
                raise BrokerError(f"the Kafka broker exited with {self.process.returncode} "
                                  f"while starting: {tail}")
            started = server_log.exists() and "Kafka Server started" in server_log.read_text(
                errors="replace")
            if started and port_open(self.port):
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise BrokerError(f"the Kafka broker on port {self.port} was not ready within "
                              f"{timeout:.0f} s; see {server_log}")
        if warm_up:
            self.warm_up()
        return self

    def warm_up(self) -> None:
        """Create one consumer group and run one ``init_transactions`` (see the module doc)."""
        from confluent_kafka import Consumer, Producer, TopicPartition

        servers = self.bootstrap_servers
        consumer = Consumer({"bootstrap.servers": servers, "group.id": "strom-warm-up",
                             "enable.auto.commit": False, "log_level": 2})
        try:
            consumer.commit(offsets=[TopicPartition("__strom_warm_up", 0, 0)], asynchronous=False)
        except Exception:  # noqa: S110 - the topic need not exist; the coordinator is up now
            pass
        finally:
            consumer.close()
        producer = Producer({"bootstrap.servers": servers, "transactional.id": "strom-warm-up",
                             "log_level": 2})
        producer.init_transactions(30)
        producer.begin_transaction()
        producer.produce("__strom_warm_up", b"")
        producer.commit_transaction(30)

    def create_topic(self, name: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
        """Create a topic (replication factor 1) and wait until it exists."""
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 2})
        futures = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])
        futures[name].result(30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the metadata shows every partition
            topic = admin.list_topics(timeout=5).topics.get(name)
            if topic is not None and topic.error is None and len(topic.partitions) == partitions:
                return
            time.sleep(0.05)
        raise BrokerError(f"topic {name!r} did not appear within 30 s")

    def kill(self) -> None:
        """Kill the broker process (``kill -9``), keeping its data directory (for restarts)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, keep_data: bool = False) -> None:
        """Stop the broker (gracefully, then forcibly) and remove a temporary data directory."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self.process = None
        if self._own_dir and not keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the command line (scripts/kafka) ------------------------------------------------------------
def _default_dir() -> Path:
    return DEFAULT_CACHE / "data"


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/kafka", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status", "install"])
    parser.add_argument("--port", type=int, default=9092, help="PLAINTEXT port (default 9092)")
    parser.add_argument("--dir", type=Path, default=_default_dir(), help="data directory")
    args = parser.parse_args(argv)
    state_file = args.dir / STATE_FILE
    state = json.loads(state_file.read_text()) if state_file.exists() else None
    alive = state is not None and _alive(state["pid"])
    if args.command == "install":
        print(install())
        return 0
    if args.command == "status":
        if alive:
            print(f"running: pid {state['pid']}, bootstrap.servers=127.0.0.1:{state['port']}")
            return 0
        print("not running")
        return 3
    if args.command == "stop":
        if not alive:
            print("not running")
            return 0
        os.killpg(state["pid"], signal.SIGTERM)
        for _ in range(150):
            if not _alive(state["pid"]):
                break
            time.sleep(0.1)
        else:
            os.killpg(state["pid"], signal.SIGKILL)
        state_file.unlink(missing_ok=True)
        print("stopped")
        return 0
    if alive:
        print(f"already running: pid {state['pid']}, bootstrap.servers=127.0.0.1:{state['port']}")
        return 0
    broker = KafkaBroker(port=args.port, data_dir=args.dir)
    broker.start(outlive_owner=True)
    assert broker.process is not None
    state_file.write_text(json.dumps({"pid": broker.process.pid, "port": broker.port}))
    print(f"started: pid {broker.process.pid}, bootstrap.servers={broker.bootstrap_servers}, "
          f"data in {args.dir}")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if __name__ == "__main__":
    sys.exit(_cli())
