"""A lint of the Dockerfile (hadolint is not available here, and no Docker engine runs, so the
image itself is not built by the tests): base images pinned to explicit versions, a
multi-stage build whose runtime stage runs as a numeric non-root user, `iota` as the exec-form
entrypoint, no secrets in ENV or ARG, the writable paths of a read-only root filesystem, and
a build context that holds what the build reads and nothing else.
"""

import json
import re
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE", re.I)


def instructions(text):
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    result = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, arguments = full.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def stages(parsed):
    """The build stages: lists of instructions, each starting with its FROM."""
    result = []
    for instruction in parsed:
        if instruction[0] == "FROM":
            result.append([])
        result[-1].append(instruction)
    return result


def env_pairs(arguments):
    """ENV a=1 b=2 (or the legacy ENV a 1) as a dict."""
    if "=" not in arguments.split(" ")[0]:
        name, _, value = arguments.partition(" ")
        return {name: value}
    return dict(re.findall(r'(\w+)=("[^"]*"|\S+)', arguments))


class Dockerfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = DOCKERFILE.read_text()
        cls.parsed = instructions(cls.text)
        cls.stages = stages(cls.parsed)
        cls.runtime = cls.stages[-1]

    def of(self, stage, keyword):
        return [arguments for k, arguments in stage if k == keyword]

    def test_multi_stage_with_pinned_base_images(self):
        self.assertGreaterEqual(len(self.stages), 2)
        for stage in self.stages:
            image = stage[0][1].split()[0]
            with self.subTest(image=image):
                self.assertNotIn("$", image, "base images are not chosen by build arguments")
                name, _, tag = image.partition(":")
                self.assertTrue(tag, "an explicit tag")
                tag = tag.split("@")[0]
                self.assertNotIn("latest", tag)
                self.assertRegex(tag, r"^\d+\.\d+", "a tag that starts with an exact version")

    def test_the_builder_is_at_least_the_workspace_rust_version(self):
        builder = self.stages[0][0][1].split()[0]
        self.assertTrue(builder.startswith("rust:"), builder)
        tag = tuple(int(x) for x in re.match(r"rust:(\d+)\.(\d+)", builder).groups())
        cargo = (ROOT / "Cargo.toml").read_text()
        wanted = tuple(int(x) for x in re.search(r'rust-version = "(\d+)\.(\d+)"', cargo).groups())
        self.assertGreaterEqual(tag, wanted)

    def test_the_runtime_is_slim_debian_with_python3(self):
        image = self.runtime[0][1].split()[0]
        self.assertRegex(image, r"^debian:[\d.]+-slim$")
        installs = " ".join(self.of(self.runtime, "RUN"))
        self.assertRegex(installs, r"apt-get install -y --no-install-recommends [^&]*\bpython3\b")
        self.assertIn("rm -rf /var/lib/apt/lists/*", installs)

    def test_runs_as_a_numeric_non_root_user(self):
        users = self.of(self.runtime, "USER")
        self.assertTrue(users, "no USER in the runtime stage")
        self.assertRegex(users[-1], r"^\d+(:\d+)?$", "a numeric uid (and gid)")
        self.assertNotIn("0", users[-1].split(":"), "root")
        last_user = max(i for i, (k, _) in enumerate(self.runtime) if k == "USER")
        after = [k for k, _ in self.runtime[last_user:]]
        self.assertNotIn("RUN", after, "commands after USER would run as the user: put them before")
        uid = users[-1].split(":")[0]
        self.assertIn(f"--uid {uid}", " ".join(self.of(self.runtime, "RUN")))

    def test_iota_is_the_exec_form_entrypoint(self):
        (entrypoint,) = self.of(self.runtime, "ENTRYPOINT")
        self.assertEqual(json.loads(entrypoint), ["iota"])
        copies = self.of(self.runtime, "COPY")
        self.assertIn("--from=build /out/iota /usr/local/bin/iota", copies)

    def test_no_secrets_in_env_or_arg(self):
        for keyword in ("ENV", "ARG"):
            for arguments in self.of(self.parsed, keyword):
                names = env_pairs(arguments) if keyword == "ENV" else {arguments.split("=")[0]: ""}
                for name in names:
                    self.assertNotRegex(name, SECRET_NAME, f"{keyword} {name}")
        self.assertNotRegex(self.text, r"AKIA[0-9A-Z]{16}", "an AWS access key id")
        self.assertNotRegex(
            self.text, r"(?i)(curl|wget)[^\n]*\|\s*(ba)?sh", "piping a download to a shell"
        )
        self.assertEqual(self.of(self.parsed, "ADD"), [], "COPY, not ADD")

    def test_writable_paths_for_a_read_only_root_filesystem(self):
        env = {}
        for arguments in self.of(self.runtime, "ENV"):
            env.update(env_pairs(arguments))
        self.assertTrue(env["IOTA_RUNTIME_DIR"].startswith(("/var/lib/iota/", "/tmp/")))
        self.assertEqual(env["HOME"], "/var/lib/iota")
        self.assertEqual(env["IOTA_LISTEN"], "0.0.0.0:9090")
        self.assertIn('["/var/lib/iota"]', self.of(self.runtime, "VOLUME"))
        self.assertIn("9090", self.of(self.runtime, "EXPOSE"))

    def test_the_bundled_rules_are_at_a_known_path(self):
        self.assertIn("rules /usr/share/iota/rules", self.of(self.runtime, "COPY"))
        deployment = (ROOT / "deploy/kubernetes/base/deployment.yaml").read_text()
        self.assertIn("/usr/share/iota/rules", deployment)

    def test_the_build_context_holds_what_the_build_reads(self):
        ignored = {
            line.strip()
            for line in (ROOT / ".dockerignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        }
        self.assertLessEqual({".git", ".venv", "target"}, ignored)
        # build.rs of iota-rules embeds python/ and rules/; cargo needs the workspace.
        copied = {a.split()[0] for a in self.of(self.stages[0], "COPY")}
        self.assertLessEqual({"crates", "python", "rules"}, copied)
        self.assertIn("Cargo.toml Cargo.lock ./", self.of(self.stages[0], "COPY"))
        for path in ("crates", "python", "rules", "Cargo.toml", "Cargo.lock"):
            self.assertNotIn(path, ignored)
        self.assertIn("--locked", " ".join(self.of(self.stages[0], "RUN")))


if __name__ == "__main__":
    unittest.main()
