"""The Kustomize base and overlays (deploy/kubernetes): every overlay builds with
`kubectl kustomize`, and the rendered manifests have what SPEC 7 and 8 ask of them: the
restricted security context with a read-only root filesystem, probes on the daemon endpoint,
the IRSA annotation, the rules ConfigMap generated from the rules directory, replicas and
strategy per overlay (PVC for s3-poll, Secret-sourced PostgreSQL URL and PDB for sqs), the
metrics port and annotations, and a NetworkPolicy that allows egress and nothing in but
the metrics port. And the site kustomization docs/DEPLOYMENT.md shows builds on an overlay.

Needs kubectl (Debian's kubernetes-client). Without it the tests are skipped, loudly; with
CI=true they fail instead.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
RULES_DIR = KUBERNETES / "base" / "rules"
CONFIGURATION_MD = (ROOT / "docs" / "CONFIGURATION.md").read_text()
EXPECTED_OVERLAYS = {"s3-poll", "sqs-postgres"}
UID = 10001


def setUpModule():
    if shutil.which("kubectl"):
        return
    message = (
        "kubectl not found: the Kubernetes manifests are not checked. Install it "
        "(Debian: apt-get install kubernetes-client)."
    )
    if os.environ.get("CI") == "true":
        raise RuntimeError(message)
    print(f"\n*** SKIPPED: {message}\n", file=sys.stderr)
    raise unittest.SkipTest(message)


_rendered = {}


def render(path):
    """The objects `kubectl kustomize PATH` renders (PATH relative to deploy/kubernetes, or
    absolute), by (kind, name)."""
    if path not in _rendered:
        result = subprocess.run(
            ["kubectl", "kustomize", str(KUBERNETES / path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"kubectl kustomize {path} failed:\n{result.stderr}")
        objects = {}
        for doc in yaml.safe_load_all(result.stdout):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in objects, f"{path} renders {key} twice"
            objects[key] = doc
        _rendered[path] = objects
    return _rendered[path]


def only(objects, kind):
    found = [o for (k, _), o in objects.items() if k == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container(deployment):
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, containers
    return containers[0]


def env(c):
    return {e["name"]: e for e in c.get("env", [])}


def overlays():
    return sorted(p.name for p in (KUBERNETES / "overlays").iterdir() if p.is_dir())


class TheOverlays(unittest.TestCase):
    def test_the_expected_overlays_exist(self):
        self.assertEqual(set(overlays()), EXPECTED_OVERLAYS)


class EveryKustomization:
    """What holds for the base and every overlay: one TestCase per kustomization below."""

    path = None

    def setUp(self):
        self.objects = render(self.path)

    def test_everything_is_namespaced_in_a_restricted_namespace(self):
        namespace = only(self.objects, "Namespace")
        labels = namespace["metadata"]["labels"]
        self.assertEqual(labels["pod-security.kubernetes.io/enforce"], "restricted")
        for (kind, name), obj in self.objects.items():
            if kind != "Namespace":
                self.assertEqual(
                    obj["metadata"].get("namespace"),
                    namespace["metadata"]["name"],
                    f"{kind}/{name}",
                )

    def test_restricted_security_context(self):
        pod = only(self.objects, "Deployment")["spec"]["template"]["spec"]
        self.assertIs(pod["securityContext"]["runAsNonRoot"], True)
        self.assertEqual(pod["securityContext"]["runAsUser"], UID)
        self.assertEqual(pod["securityContext"]["fsGroup"], UID)
        self.assertEqual(pod["securityContext"]["seccompProfile"], {"type": "RuntimeDefault"})
        self.assertIs(pod["automountServiceAccountToken"], False)
        self.assertFalse(pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"))
        sc = container(only(self.objects, "Deployment"))["securityContext"]
        self.assertIs(sc["runAsNonRoot"], True)
        self.assertNotEqual(sc.get("runAsUser", UID), 0)
        self.assertIs(sc["allowPrivilegeEscalation"], False)
        self.assertIs(sc["readOnlyRootFilesystem"], True)
        self.assertIs(sc.get("privileged", False), False)
        self.assertEqual(sc["capabilities"], {"drop": ["ALL"]})
        self.assertEqual(sc["seccompProfile"], {"type": "RuntimeDefault"})

    def test_only_the_data_volume_and_tmp_are_writable(self):
        deployment = only(self.objects, "Deployment")
        c = container(deployment)
        volumes = {v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"]}
        writable = set()
        for mount in c["volumeMounts"]:
            self.assertIn(mount["name"], volumes)
            if not mount.get("readOnly"):
                writable.add(mount["mountPath"])
        self.assertEqual(writable, {"/var/lib/iota", "/tmp"})
        runtime_dir = env(c)["IOTA_RUNTIME_DIR"]["value"]
        self.assertTrue(runtime_dir.startswith(("/var/lib/iota/", "/tmp/")), runtime_dir)

    def test_probes_and_metrics_are_on_the_daemon_endpoint(self):
        deployment = only(self.objects, "Deployment")
        c = container(deployment)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports, {"metrics": 9090})
        self.assertEqual(env(c)["IOTA_LISTEN"]["value"], "0.0.0.0:9090")
        for probe, path in [
            ("startupProbe", "/healthz"),
            ("livenessProbe", "/healthz"),
            ("readinessProbe", "/readyz"),
        ]:
            get = c[probe]["httpGet"]
            self.assertEqual(get["path"], path, probe)
            self.assertIn(get["port"], ("metrics", 9090), probe)
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(annotations["prometheus.io/scrape"], "true")
        self.assertEqual(annotations["prometheus.io/port"], "9090")
        self.assertEqual(annotations["prometheus.io/path"], "/metrics")
        service = only(self.objects, "Service")
        self.assertEqual(service["spec"]["ports"][0]["targetPort"], "metrics")
        self.assertTrue(
            selects(service["spec"]["selector"], deployment), "the Service selects no pod"
        )
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        self.assertGreater(grace, seconds(env(c)["IOTA_SHUTDOWN_TIMEOUT"]["value"]))

    def test_the_image_has_an_explicit_version(self):
        image = container(only(self.objects, "Deployment"))["image"]
        name, _, tag = image.rpartition(":")
        self.assertTrue(name and tag, image)
        self.assertNotEqual(tag, "latest")

    def test_resources(self):
        resources = container(only(self.objects, "Deployment"))["resources"]
        self.assertEqual(resources["requests"], {"cpu": "100m", "memory": "256Mi"})
        self.assertIn("memory", resources["limits"])

    def test_the_service_account_carries_the_irsa_role(self):
        account = only(self.objects, "ServiceAccount")
        role = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        self.assertRegex(role, r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
        pod = only(self.objects, "Deployment")["spec"]["template"]["spec"]
        self.assertEqual(pod["serviceAccountName"], account["metadata"]["name"])

    def test_rules_are_a_configmap_generated_from_the_rules_directory(self):
        files = {p.name for p in RULES_DIR.iterdir() if p.is_file()}
        self.assertTrue(files)
        deployment = only(self.objects, "Deployment")
        rules = configmaps(self.objects, "iota-rules-")
        self.assertEqual(len(rules), 1)
        name = rules[0]["metadata"]["name"]
        # The content hash: a change of the rules rolls the pods.
        self.assertRegex(name, r"^iota-rules-[a-z0-9]{10}$")
        self.assertEqual(
            set(rules[0]["data"]), files, "list every file of base/rules/ in the base kustomization"
        )
        for file in files:
            self.assertEqual(rules[0]["data"][file], (RULES_DIR / file).read_text())
        volume = volume_of(deployment, "/etc/iota/rules")
        self.assertEqual(volume["configMap"]["name"], name)
        paths = env(container(deployment))["IOTA_RULES"]["value"].split(",")
        self.assertEqual(paths, ["/usr/share/iota/rules", "/etc/iota/rules"])

    def test_the_config_file_is_a_generated_configmap_iota_can_read(self):
        deployment = only(self.objects, "Deployment")
        config = configmaps(self.objects, "iota-config-")
        self.assertEqual(len(config), 1)
        path = env(container(deployment))["IOTA_CONFIG"]["value"]
        directory, file = path.rsplit("/", 1)
        self.assertEqual(
            volume_of(deployment, directory)["configMap"]["name"], config[0]["metadata"]["name"]
        )
        parsed = tomllib.loads(config[0]["data"][file])
        self.assertLessEqual(set(parsed), {"outputs"})

    def test_every_environment_variable_is_one_iota_reads(self):
        for name in env(container(only(self.objects, "Deployment"))):
            self.assertTrue(f"`{name}`" in CONFIGURATION_MD, f"{name} is not an iota variable")

    def test_the_network_policy_allows_egress_and_only_metrics_in(self):
        policy = only(self.objects, "NetworkPolicy")["spec"]
        self.assertEqual(set(policy["policyTypes"]), {"Ingress", "Egress"})
        deployment = only(self.objects, "Deployment")
        self.assertTrue(selects(policy["podSelector"]["matchLabels"], deployment))
        self.assertEqual(policy["egress"], [{}])
        for rule in policy["ingress"]:
            self.assertEqual(rule["ports"], [{"port": "metrics", "protocol": "TCP"}])
            self.assertTrue(rule["from"], "ingress from anywhere")


for _path in ["base"] + [f"overlays/{_o}" for _o in overlays()]:
    _name = "Rendered_" + re.sub(r"\W", "_", _path)
    globals()[_name] = type(_name, (EveryKustomization, unittest.TestCase), {"path": _path})


class S3PollOverlay(unittest.TestCase):
    def setUp(self):
        self.objects = render("overlays/s3-poll")
        self.deployment = only(self.objects, "Deployment")
        self.container = container(self.deployment)

    def test_one_replica_recreated_on_update(self):
        self.assertEqual(self.deployment["spec"]["replicas"], 1)
        self.assertEqual(self.deployment["spec"]["strategy"], {"type": "Recreate"})
        self.assertNotIn("PodDisruptionBudget", {k for k, _ in self.objects})

    def test_sqlite_on_the_persistent_volume(self):
        self.assertEqual(self.container["args"], ["s3-poll"])
        self.assertTrue("## `iota s3-poll`" in CONFIGURATION_MD, "no such command")
        state = env(self.container)["IOTA_STATE"]["value"]
        self.assertTrue(state.startswith("/var/lib/iota/"), state)
        claim = volume_of(self.deployment, "/var/lib/iota")["persistentVolumeClaim"]["claimName"]
        pvc = self.objects[("PersistentVolumeClaim", claim)]
        self.assertEqual(pvc["spec"]["accessModes"], ["ReadWriteOnce"])
        self.assertIn("IOTA_S3_BUCKET", env(self.container))


class SqsPostgresOverlay(unittest.TestCase):
    def setUp(self):
        self.objects = render("overlays/sqs-postgres")
        self.deployment = only(self.objects, "Deployment")
        self.container = container(self.deployment)

    def test_several_replicas_that_never_all_stop(self):
        self.assertGreaterEqual(self.deployment["spec"]["replicas"], 2)
        strategy = self.deployment["spec"]["strategy"]
        self.assertEqual(strategy["type"], "RollingUpdate")
        self.assertEqual(strategy["rollingUpdate"]["maxUnavailable"], 0)
        pdb = only(self.objects, "PodDisruptionBudget")
        self.assertGreaterEqual(pdb["spec"]["minAvailable"], 1)
        self.assertLess(pdb["spec"]["minAvailable"], self.deployment["spec"]["replicas"])
        self.assertTrue(selects(pdb["spec"]["selector"]["matchLabels"], self.deployment))

    def test_postgresql_url_from_a_secret(self):
        self.assertEqual(self.container["args"], ["sqs"])
        self.assertTrue("## `iota sqs`" in CONFIGURATION_MD, "no such command")
        state = env(self.container)["IOTA_STATE"]
        self.assertNotIn("value", state, "the PostgreSQL URL (a password) must come from a Secret")
        self.assertEqual(
            state["valueFrom"]["secretKeyRef"], {"name": "iota-postgres", "key": "url"}
        )
        self.assertRegex(
            env(self.container)["IOTA_SQS_QUEUE_URL"]["value"],
            r"^https://sqs\.[a-z0-9-]+\.amazonaws\.com/\d{12}/.+$",
        )
        self.assertNotIn("PersistentVolumeClaim", {k for k, _ in self.objects})


class TheDeploymentGuidesKustomization(unittest.TestCase):
    """The site kustomization of docs/DEPLOYMENT.md ("Your overlay") builds on the s3-poll
    overlay and does what the guide says: the image, the role, the bucket, an added rule."""

    def test_it_builds_and_overrides_what_it_says(self):
        guide = (ROOT / "docs" / "DEPLOYMENT.md").read_text()
        (kustomization,) = re.findall(r"```yaml\n# acme/kustomization.yaml\n(.*?)```", guide, re.S)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "iota").symlink_to(ROOT)
            site = Path(tmp) / "acme"
            (site / "rules").mkdir(parents=True)
            (site / "kustomization.yaml").write_text(kustomization)
            rule = "def rule(event):\n    return False\n"
            (site / "rules" / "acme_vpn_console_login.py").write_text(rule)
            objects = render(site)
        deployment = only(objects, "Deployment")
        c = container(deployment)
        self.assertEqual(c["image"], "111122223333.dkr.ecr.eu-west-1.amazonaws.com/iota:0.1.0")
        self.assertEqual(c["args"], ["s3-poll"])
        self.assertEqual(env(c)["IOTA_S3_BUCKET"]["value"], "acme-org-trail")
        self.assertEqual(env(c)["IOTA_AWS_REGION"]["value"], "us-east-1")
        self.assertEqual(env(c)["IOTA_STATE"]["value"], "/var/lib/iota/state.db")
        account = only(objects, "ServiceAccount")
        self.assertEqual(
            account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
            "arn:aws:iam::111122223333:role/iota",
        )
        (rules,) = configmaps(objects, "iota-rules-")
        self.assertIn("acme_vpn_console_login.py", rules["data"])
        self.assertIn("break_glass_role_assumed.py", rules["data"])
        self.assertEqual(
            volume_of(deployment, "/etc/iota/rules")["configMap"]["name"],
            rules["metadata"]["name"],
        )


def selects(match_labels, deployment):
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    return bool(match_labels) and all(labels.get(k) == v for k, v in match_labels.items())


def volume_of(deployment, mount_path):
    c = container(deployment)
    (mount,) = [m for m in c["volumeMounts"] if m["mountPath"] == mount_path]
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    (volume,) = [v for v in volumes if v["name"] == mount["name"]]
    return volume


def configmaps(objects, prefix):
    """The generated ConfigMaps named PREFIX<hash>."""
    return [o for (k, n), o in objects.items() if k == "ConfigMap" and n.startswith(prefix)]


def seconds(duration):
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, f"unexpected duration {duration!r}"
    return int(match[1]) * (60 if match[2] == "m" else 1)


if __name__ == "__main__":
    unittest.main()
