"""The operator docs match the code: every `--flag` and IOTA_* variable that
docs/DEPLOYMENT.md and docs/OPERATIONS.md name is one docs/CONFIGURATION.md (generated from
the CLI) lists, every `iota <command>` they show exists, the ECS container definition is
valid JSON, the metrics of OPERATIONS.md are exactly those crates/iota-ops/src/metrics.rs
exports, and its Prometheus rules parse and use only those metrics.
"""

import json
import re
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = {name: (ROOT / "docs" / name).read_text() for name in ("DEPLOYMENT.md", "OPERATIONS.md")}
CONFIGURATION_MD = (ROOT / "docs" / "CONFIGURATION.md").read_text()
METRICS_RS = (ROOT / "crates" / "iota-ops" / "src" / "metrics.rs").read_text()

def exported_metrics():
    return set(re.findall(r'pub const \w+: &str = "(iota_\w+)";', METRICS_RS))


class OperatorDocs(unittest.TestCase):
    def test_every_flag_is_one_iota_has(self):
        for name, text in DOCS.items():
            # --help and --version are clap's own, left out of the tables.
            for flag in set(re.findall(r"`(--[a-z][a-z-]*)`", text)) - {"--help", "--version"}:
                with self.subTest(doc=name, flag=flag):
                    row = re.search(r"^\| `" + flag + r"[ `]", CONFIGURATION_MD, re.M)
                    self.assertTrue(row, "not an iota option")

    def test_every_variable_is_one_iota_reads(self):
        for name, text in DOCS.items():
            for variable in set(re.findall(r"\bIOTA_[A-Z_]+\b", text)):
                with self.subTest(doc=name, variable=variable):
                    self.assertTrue(f"`{variable}`" in CONFIGURATION_MD, "not read by iota")

    def test_every_command_shown_exists(self):
        """`iota X Y` in inline code, and after `sudo` or `kubectl exec ... --`."""
        pattern = r"(?:`|sudo\s+|\s--\s+)iota ([a-z][a-z0-9-]*)(?: ([a-z]+))?"
        for name, text in DOCS.items():
            for command, sub in set(re.findall(pattern, text)):
                with self.subTest(doc=name, command=command, sub=sub):
                    self.assertTrue(f"## `iota {command}`" in CONFIGURATION_MD, "no such command")
                    groups = re.findall(
                        r"^## `iota " + command + r" (\w+)`", CONFIGURATION_MD, re.M
                    )
                    if groups and sub:
                        self.assertIn(sub, groups)

    def test_the_ecs_container_definition_is_json_for_a_read_only_non_root_task(self):
        (block,) = re.findall(r"```json\n(.*?)```", DOCS["DEPLOYMENT.md"], re.S)
        container = json.loads(block)
        self.assertEqual(container["user"], "10001:10001")
        self.assertIs(container["readonlyRootFilesystem"], True)
        self.assertEqual(container["mountPoints"][0]["containerPath"], "/var/lib/iota")
        dockerfile = (ROOT / "Dockerfile").read_text()
        self.assertIn('VOLUME ["/var/lib/iota"]', dockerfile)

    def test_the_metrics_table_is_what_the_daemons_export(self):
        text = DOCS["OPERATIONS.md"]
        table = set(re.findall(r"^\| `(iota_\w+)` \|", text, re.M))
        self.assertEqual(table, exported_metrics())
        for metric in set(re.findall(r"`(iota_[a-z_]+)`", text)):
            with self.subTest(metric=metric):
                base = re.sub(r"_(bucket|sum|count)$", "", metric)
                self.assertIn(base, exported_metrics())

    def test_the_prometheus_rules_parse_and_use_known_metrics(self):
        (block,) = re.findall(r"```yaml\n(groups:.*?)```", DOCS["OPERATIONS.md"], re.S)
        groups = yaml.safe_load(block)["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        self.assertGreaterEqual(len(rules), 5)
        for rule in rules:
            with self.subTest(alert=rule["alert"]):
                self.assertTrue(rule["annotations"]["summary"])
                self.assertIn(rule["labels"]["severity"], {"critical", "warning", "info"})
                for metric in re.findall(r"\b(iota_[a-z_]+)", rule["expr"]):
                    self.assertIn(metric, exported_metrics())


if __name__ == "__main__":
    unittest.main()
