"""The systemd unit of a plain-VM deployment (deploy/systemd): it runs an existing command as
an unprivileged user, with the state and runtime directories it writes, every IOTA_* variable
it sets being one iota reads, the endpoint on loopback, and a stop timeout longer than the
shutdown timeout. `systemd-analyze verify` checks it too when systemd is installed.
"""

import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "iota-s3-poll.service"
ENV_EXAMPLE = ROOT / "deploy" / "systemd" / "iota.env.example"
CONFIGURATION_MD = (ROOT / "docs" / "CONFIGURATION.md").read_text()


def settings(text):
    """(section, key, value) of a unit file, in order (keys may repeat)."""
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        yield section, key, value


class Unit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = UNIT.read_text()
        cls.service = {}
        cls.environment = {}
        for section, key, value in settings(cls.text):
            if section != "Service":
                continue
            if key == "Environment":
                name, _, env_value = value.partition("=")
                cls.environment[name] = env_value
            else:
                cls.service[key] = value

    def test_runs_an_iota_daemon_as_an_unprivileged_user(self):
        self.assertEqual(self.service["DynamicUser"], "yes")
        self.assertNotIn("User", self.service)
        self.assertEqual(self.service["CapabilityBoundingSet"], "")
        self.assertEqual(self.service["NoNewPrivileges"], "yes")
        self.assertEqual(self.service["ProtectSystem"], "strict")
        binary, command = self.service["ExecStart"].split()[:2]
        self.assertEqual(binary, "/usr/local/bin/iota")
        self.assertTrue(f"## `iota {command}`" in CONFIGURATION_MD, "no such command")

    def test_writes_only_its_state_and_cache_directories(self):
        self.assertEqual(self.service["StateDirectory"], "iota")
        self.assertEqual(self.service["CacheDirectory"], "iota")
        self.assertTrue(self.environment["IOTA_STATE"].startswith("/var/lib/iota/"))
        self.assertEqual(self.environment["IOTA_RUNTIME_DIR"], "/var/cache/iota")

    def test_every_variable_is_one_iota_reads(self):
        names = set(self.environment)
        for line in ENV_EXAMPLE.read_text().splitlines():
            match = re.match(r"#?\s*(IOTA_\w+)=", line)
            if match:
                names.add(match[1])
        for name in names:
            self.assertTrue(f"`{name}`" in CONFIGURATION_MD, f"{name} is not an iota variable")

    def test_the_endpoint_stays_on_loopback_and_shutdown_has_time(self):
        self.assertTrue(self.environment["IOTA_LISTEN"].startswith("127.0.0.1:"))
        self.assertEqual(self.service["KillSignal"], "SIGTERM")
        shutdown = int(self.environment["IOTA_SHUTDOWN_TIMEOUT"].rstrip("s"))
        self.assertGreater(int(self.service["TimeoutStopSec"]), shutdown)

    def test_systemd_analyze_verify(self):
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            self.skipTest("systemd-analyze not installed")
        # The binary and the environment file exist only on the target machine.
        text = self.text.replace("/usr/local/bin/iota", shutil.which("true") or "/bin/true")
        text = text.replace("EnvironmentFile=/", "EnvironmentFile=-/")
        with tempfile.TemporaryDirectory() as tmp:
            unit = Path(tmp) / UNIT.name
            unit.write_text(text)
            result = subprocess.run(
                [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
            )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr.strip(), "", result.stderr)


if __name__ == "__main__":
    unittest.main()
